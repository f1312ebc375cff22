package ra

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"strings"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/authz"
	"github.com/smki/smki/ra/eligibility"
	"github.com/smki/smki/ra/ownpki"
	"github.com/smki/smki/ra/raerr"
	"github.com/smki/smki/ra/records"
	"github.com/smki/smki/store"
)

func checkOfficerRequest(r OfficerRequest) (partyID string, err error) {
	if err := checkOfficerID(r.ID); err != nil {
		return "", err
	}
	if err := checkName("officer", r.Name); err != nil {
		return "", err
	}
	if !authz.ValidKind(r.Kind) {
		return "", fmt.Errorf("%w: officer kind %q (want one of %s, in lower case)", ErrInvalidRole, r.Kind, strings.Join(authz.OfficerKinds(), ", "))
	}
	switch {
	case IsPartyKind(r.Kind) && r.PartyID.IsZero():
		return "", fmt.Errorf("%w: a %s needs a party_id (smki officer add --party PARTY-ID): the party whose officer it is", ErrBadRequest, r.Kind)
	case authz.IsRALevel(r.Kind) && !r.PartyID.IsZero():
		return "", fmt.Errorf("%w: a %s belongs to the RA, not to a party: leave out party_id (--party)", ErrBadRequest, r.Kind)
	case IsPartyKind(r.Kind):
		return r.PartyID.String(), nil
	}
	return "", nil
}

// AppointOfficer records a new active officer and returns its mTLS
// credential: a client certificate from the access CA with CN = ID,
// OU = kind, O = party ID or "RA", for the key in req.CSR or else for a
// fresh key returned in the Credential (and kept nowhere: the RA keeps the
// certificate serial, never a key). WithOfficerCSRRequired refuses
// requests without a CSR.
func (s *Service) AppointOfficer(ctx context.Context, a Actor, req OfficerRequest) (Officer, ownpki.Credential, error) {
	pid, err := checkOfficerRequest(req)
	if err != nil {
		return Officer{}, ownpki.Credential{}, err
	}
	subject := "officer:" + req.ID
	var pub *ecdsa.PublicKey
	if req.CSR != "" {
		if pub, err = officerKeyFromCSR(req.CSR); err != nil {
			return Officer{}, ownpki.Credential{}, err // malformed: refused before any decision
		}
	} else if s.officerCSRRequired {
		err := fmt.Errorf("%w: this RA certifies only officer keys the appointee generated: send a CSR (smki officer keygen)", ErrCSRRequired)
		s.refusedOf(ctx, a, ActAppointOfficer, subject, err)
		return Officer{}, ownpki.Credential{}, err
	}
	// 1. Decide before signing: every refusal that does not need the
	// credential (the policy, the party, a taken ID, the appointer's own
	// status) is given, and audited, before the access CA's key (an HSM's
	// in production) signs anything, so a refused appointment costs no
	// signature.
	if err := s.precheck(ctx, a, ActAppointOfficer, subject, func(tx store.Tx, me store.Officer) error {
		return appointable(tx, me, req.ID, req.Kind, pid)
	}); err != nil {
		return Officer{}, ownpki.Credential{}, err
	}
	// 2. Sign. Signing the credential is local and writes nothing, so it
	// happens before (and outside) the transaction, which may be retried.
	// If the decision is refused after all (the state changed since step
	// 1) the certificate is simply never registered, and an unregistered
	// certificate authenticates nobody.
	org := raOrganisation
	if pid != "" {
		org = pid
	}
	keySource := records.KeyAppointee
	var cred ownpki.Credential
	if pub != nil {
		cred, err = s.access.CertifyOfficer(req.ID, req.Kind, org, pub)
	} else {
		keySource = records.KeyRAGenerated
		cred, err = s.access.IssueOfficer(req.ID, req.Kind, org)
	}
	if err != nil {
		return Officer{}, ownpki.Credential{}, err
	}
	// 3. Decide again, on the state the transaction commits on, and record.
	o := store.Officer{ID: req.ID, Name: req.Name, PartyID: pid, Kind: req.Kind, CertSerial: cred.Serial, CertNotAfter: cred.NotAfter,
		Status: store.StatusActive, AppointedBy: a.id}
	err = s.change(ctx, a, ActAppointOfficer, subject, func(tx store.Tx, me store.Officer) (string, error) {
		if err := appointable(tx, me, o.ID, o.Kind, pid); err != nil {
			return "", err
		}
		o.CreatedAt = s.now().UTC()
		if err := tx.CreateOfficer(o); errors.Is(err, store.ErrExists) {
			return "", officerIDTaken(o.ID)
		} else if err != nil {
			return "", raerr.FromStore("officer "+o.ID, err)
		}
		if err := records.RecordCustody(tx, o.ID, a.id, o.CertSerial, keySource); err != nil {
			return "", err
		}
		return fmt.Sprintf("kind=%s party=%q cert_serial=%s key=%s", o.Kind, o.PartyID, o.CertSerial, keySource), nil
	})
	if err != nil {
		return Officer{}, ownpki.Credential{}, err
	}
	return officerFrom(o), cred, nil
}

// appointable is the decision on me appointing officer id of kind in
// party pid (none: an RA officer), short of the credential: another party
// and none get one answer (unseen, hidden), the party must be active, the
// policy (Authorize) must allow it, and the ID must be free. AppointOfficer
// asks it before signing and again in the transaction that records.
func appointable(tx store.Tx, me store.Officer, id, kind, pid string) error {
	t := Target{PartyID: pid, OfficerKind: kind}
	if pid != "" {
		if err := unseen(me, ActReadParty, pid, "party", pid); err != nil {
			return err
		}
		if err := activeParty(tx, pid); err != nil {
			return err
		}
		has, err := hasActiveSRO(tx, pid)
		if err != nil {
			return err
		}
		t.PartyHasSRO = has
	}
	if err := Authorize(me, ActAppointOfficer, t); err != nil {
		return err
	}
	_, err := tx.GetOfficer(id)
	switch {
	case err == nil:
		return officerIDTaken(id)
	case !errors.Is(err, store.ErrNotFound):
		return raerr.FromStore("officer "+id, err)
	}
	return nil
}

// officerIDTaken is the refusal of an officer ID another officer holds.
// Officer IDs are one namespace across the RA (a credential's CN alone
// names its officer: docs/api.md), so the ID is refused whoever holds it;
// the answer is one sentence for every holder and says nothing of it (not
// its party, name or kind, nor that the appointer could list it: another
// party's officer it cannot), only that IDs are unique across parties.
func officerIDTaken(id string) error {
	return fmt.Errorf("%w: officer ID %s is taken: officer IDs are unique across the RA, every party's officers and the RA's own included, "+
		"so choose another (your party's name as a prefix avoids clashes); if you are sending an appointment again after its answer was lost, "+
		"your officer list shows whether the first one made it", ErrExists, id)
}

// officerKeyFromCSR returns the P-256 key of a PEM CSR whose self-signature
// verifies (proof that the appointee holds the private key).
func officerKeyFromCSR(pemCSR string) (*ecdsa.PublicKey, error) {
	csr, err := eligibility.ParseCSR("officer CSR", []byte(pemCSR))
	if err != nil {
		return nil, err
	}
	pub, ok := csr.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: officer CSR key is %T, want ECDSA P-256", ErrCSRInvalid, csr.PublicKey)
	}
	return pub, nil
}

// RemoveOfficer marks an officer removed; its credential is refused from
// the next request on. The last active ra-operator cannot be removed (that
// would lock the RA out of its own administration). A party officer naming
// another party's officer, or an RA officer, is told it does not exist
// (hidden, unseen).
func (s *Service) RemoveOfficer(ctx context.Context, a Actor, id string) (Officer, error) {
	if err := checkOfficerID(id); err != nil {
		return Officer{}, err
	}
	var out store.Officer
	err := s.change(ctx, a, ActRemoveOfficer, "officer:"+id, func(tx store.Tx, me store.Officer) (string, error) {
		o, err := officerFor(tx, me, ActRemoveOfficer, id)
		if err != nil {
			return "", err
		}
		if o.Status == store.StatusRemoved {
			return "", fmt.Errorf("%w: officer %s is already removed", ErrInactive, id)
		}
		if err := notLastOperator(tx, o); err != nil {
			return "", err
		}
		o.Status = store.StatusRemoved
		if err := tx.PutOfficer(o); err != nil {
			return "", raerr.FromStore("officer "+id, err)
		}
		out = o
		return fmt.Sprintf("kind=%s party=%q", o.Kind, o.PartyID), nil
	})
	if err != nil {
		return Officer{}, err
	}
	s.feed.OfficerChanged() // its held feed requests are refused now
	return officerFrom(out), nil
}

// SetOfficerStatus suspends an officer (status "suspended") or reinstates
// a suspended one ("active"), in one transaction with its audit record
// (docs/api.md, "Suspending an officer"). Whoever may remove the officer
// may. A suspended officer's credential is refused from the next request
// on, as a removed one's, and works again once reinstated: nothing is
// re-issued. Removal is final: a removed officer is neither suspended nor
// reinstated (ErrInactive), nor is an officer already of that status; the
// last active ra-operator is not suspended (ErrForbidden).
func (s *Service) SetOfficerStatus(ctx context.Context, a Actor, id, status string) (Officer, error) {
	if err := checkOfficerID(id); err != nil {
		return Officer{}, err
	}
	act := ActSuspendOfficer
	switch status {
	case store.StatusSuspended:
	case store.StatusActive:
		act = ActReinstateOfficer
	default:
		return Officer{}, fmt.Errorf("%w: officer status %q, want suspended or active", ErrBadRequest, status)
	}
	var out store.Officer
	err := s.change(ctx, a, act, "officer:"+id, func(tx store.Tx, me store.Officer) (string, error) {
		o, err := officerFor(tx, me, act, id)
		if err != nil {
			return "", err
		}
		from := o.Status
		switch {
		case from == store.StatusRemoved:
			return "", fmt.Errorf("%w: officer %s was removed, which is final: appoint a new officer instead", ErrInactive, id)
		case from == status:
			return "", fmt.Errorf("%w: officer %s is already %s, so nothing was changed", ErrInactive, id, status)
		}
		if status == store.StatusSuspended {
			if err := notLastOperator(tx, o); err != nil {
				return "", err
			}
		}
		o.Status = status
		if err := tx.PutOfficer(o); err != nil {
			return "", raerr.FromStore("officer "+id, err)
		}
		out = o
		return fmt.Sprintf("kind=%s party=%q status=%s from=%s", o.Kind, o.PartyID, status, from), nil
	})
	if err != nil {
		return Officer{}, err
	}
	s.feed.OfficerChanged() // a suspended officer's held feed requests are refused now
	return officerFrom(out), nil
}

// officerFor loads officer id for me's act (remove, suspend, reinstate):
// another party's officer (or an RA officer) and none get one answer to a
// party officer (hidden, unseen); one of its own party it may not change,
// the precise refusal (Authorize).
func officerFor(tx store.Tx, me store.Officer, act Action, id string) (store.Officer, error) {
	o, err := tx.GetOfficer(id)
	if err != nil {
		return store.Officer{}, hidden(me, "officer", id, raerr.FromStore("officer "+id, err))
	}
	if err := unseen(me, ActReadParty, o.PartyID, "officer", id); err != nil {
		return store.Officer{}, err
	}
	if err := Authorize(me, act, Target{PartyID: o.PartyID, OfficerKind: o.Kind}); err != nil {
		return store.Officer{}, err
	}
	return o, nil
}

// notLastOperator refuses taking o out of service when it is the last
// active ra-operator: that would lock the RA out of its own
// administration.
func notLastOperator(tx store.Tx, o store.Officer) error {
	if o.Kind != KindRAOperator || o.Status != store.StatusActive {
		return nil
	}
	n, err := countActive(tx, "", KindRAOperator)
	if err != nil {
		return err
	}
	if n <= 1 {
		return fmt.Errorf("%w: %s is the last active ra-operator", ErrForbidden, o.ID)
	}
	return nil
}

// ListOfficers returns the officers of partyID (zero: every officer, RA
// officers only).
func (s *Service) ListOfficers(ctx context.Context, a Actor, partyID eui64.ID) ([]Officer, error) {
	var out []Officer
	pid, subject := "", "officers"
	if !partyID.IsZero() {
		pid = partyID.String()
		subject = "officers:party:" + pid
	}
	err := s.read(ctx, a, ActReadParty, subject, func(tx store.Tx, me store.Officer) error {
		out = nil
		pid := partyScope(me, pid)
		if err := authorizeRead(me, pid); err != nil {
			return err
		}
		os, err := tx.ListOfficers(pid)
		if err != nil {
			return raerr.FromStore("officers", err)
		}
		for _, o := range os {
			if pid == "" || o.PartyID == pid {
				out = append(out, officerFrom(o))
			}
		}
		return nil
	})
	return out, err
}

// Whoami returns the actor's own officer record (no policy beyond being an
// active officer). It checks that itself, in its own transaction: an
// officer suspended or removed since the caller's Authenticate (the
// console calls both, one after the other) is ErrOfficerInactive.
func (s *Service) Whoami(ctx context.Context, a Actor) (Officer, error) {
	var out Officer
	err := s.st.View(ctx, func(tx store.Tx) error {
		o, err := s.activeActor(tx, a)
		out = officerFrom(o)
		return err
	})
	return out, err
}

func hasActiveSRO(tx store.Tx, pid string) (bool, error) {
	n, err := countActive(tx, pid, KindSRO)
	return n > 0, err
}

func countActive(tx store.Tx, pid, kind string) (int, error) {
	os, err := tx.ListOfficers(pid)
	if err != nil {
		return 0, raerr.FromStore("officers", err)
	}
	n := 0
	for _, o := range os {
		if o.Kind == kind && o.Status == store.StatusActive && o.PartyID == pid {
			n++
		}
	}
	return n, nil
}
