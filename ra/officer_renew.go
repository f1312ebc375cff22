package ra

import (
	"context"
	"crypto/ecdsa"
	"fmt"

	"github.com/smki/smki/ra/ownpki"
	"github.com/smki/smki/ra/raerr"
	"github.com/smki/smki/ra/records"
	"github.com/smki/smki/store"
)

// RenewOfficerCredential issues officer id a new access credential and
// makes it the current one: the old credential is refused from the next
// request on (ErrOfficerInactive, "superseded"). Access credentials last a
// year (accessOfficerValidty), so every officer renews before that.
//
// Two cases, two audited actions:
//
//   - Self-renewal (officer.renew): a is officer id, authenticated by its
//     current, still valid credential. csr (PEM PKCS#10 for a P-256 key,
//     subject ignored) is optional: without it the RA generates the key
//     and returns it in the Credential, to the officer whose credential it
//     is. WithOfficerCSRRequired makes csr mandatory (ErrCSRRequired).
//   - Re-issue (officer.reissue), for an officer who lost their key: a is
//     whoever may appoint that officer (Authorize, ActReissueOfficer), and
//     csr is ALWAYS required (ErrCSRRequired): the holder makes the key
//     (smki officer keygen) and the re-issuer never holds another officer's
//     key. The re-issuer still chooses which key is certified, so it
//     becomes the officer's AppointedBy, the custodian four-eyes looks at.
//
// A removed officer is never renewed (ErrOfficerInactive for itself,
// ErrInactive for a re-issuer). A party officer naming another party's
// officer, or an RA officer, is told it does not exist (hidden, unseen).
// Every refusal that does not need the new credential (these, the policy,
// a removed officer) is given before anything is signed. The audit detail names the old and new
// serials and key=appointee or key=ra-generated.
func (s *Service) RenewOfficerCredential(ctx context.Context, a Actor, id string, csr string) (Officer, ownpki.Credential, error) {
	if err := checkOfficerID(id); err != nil {
		return Officer{}, ownpki.Credential{}, err
	}
	self := !a.system && a.id == id
	act, subject := ActReissueOfficer, "officer:"+id
	if self {
		act = ActRenewOfficer
	}
	var pub *ecdsa.PublicKey
	if csr != "" {
		var err error
		if pub, err = officerKeyFromCSR(csr); err != nil {
			return Officer{}, ownpki.Credential{}, err // malformed: refused before any decision
		}
	} else if !self || s.officerCSRRequired {
		err := fmt.Errorf("%w: re-issuing another officer's credential certifies only a key its holder generated: send their CSR (smki officer keygen)", ErrCSRRequired)
		if self {
			err = fmt.Errorf("%w: this RA certifies only officer keys their holder generated: send a CSR (smki officer renew does)", ErrCSRRequired)
		}
		s.refusedOf(ctx, a, act, subject, err)
		return Officer{}, ownpki.Credential{}, err
	}
	// Decide before signing: every refusal that does not need the new
	// credential (another party's officer or none, the policy, a removed
	// officer) is given, and audited, before the access CA's key (an
	// HSM's in production) signs anything. The certificate names the
	// officer's kind and party, read here so that it can be signed before
	// (and outside) the transaction, which may be retried; the
	// transaction decides again and checks they are unchanged. A
	// certificate whose decision is refused there is never registered,
	// and an unregistered certificate authenticates nobody.
	var snap store.Officer
	if err := s.precheck(ctx, a, act, subject, func(tx store.Tx, me store.Officer) error {
		var err error
		snap, err = renewable(tx, me, act, id)
		return err
	}); err != nil {
		return Officer{}, ownpki.Credential{}, err
	}
	org := raOrganisation
	if snap.PartyID != "" {
		org = snap.PartyID
	}
	keySource := records.KeyAppointee
	var cred ownpki.Credential
	var err error
	if pub != nil {
		cred, err = s.access.CertifyOfficer(id, snap.Kind, org, pub)
	} else {
		keySource = records.KeyRAGenerated
		cred, err = s.access.IssueOfficer(id, snap.Kind, org)
	}
	if err != nil {
		return Officer{}, ownpki.Credential{}, err
	}
	var out store.Officer
	err = s.change(ctx, a, act, subject, func(tx store.Tx, me store.Officer) (string, error) {
		o, err := renewable(tx, me, act, id)
		if err != nil {
			return "", err
		}
		if o.Kind != snap.Kind || o.PartyID != snap.PartyID {
			return "", fmt.Errorf("%w: officer %s changed while its credential was signed", ErrInternal, id)
		}
		old, custodian := o.CertSerial, o.AppointedBy
		o.CertSerial, o.CertNotAfter = cred.Serial, cred.NotAfter
		if !self {
			o.AppointedBy = a.id
		}
		if err := tx.PutOfficer(o); err != nil {
			return "", raerr.FromStore("officer "+id, err)
		}
		if err := records.RecordCustody(tx, id, a.id, o.CertSerial, keySource); err != nil {
			return "", err
		}
		out = o
		detail := fmt.Sprintf("kind=%s party=%q old_serial=%s cert_serial=%s key=%s", o.Kind, o.PartyID, old, o.CertSerial, keySource)
		if custodian != o.AppointedBy {
			detail += fmt.Sprintf(" appointed_by=%q->%q", custodian, o.AppointedBy)
		}
		return detail, nil
	})
	if err != nil {
		return Officer{}, ownpki.Credential{}, err
	}
	return officerFrom(out), cred, nil
}

// renewable is the decision on me renewing (act ActRenewOfficer) or
// re-issuing (ActReissueOfficer) officer id's credential, short of the
// credential: the officer as reissuable loads it, the policy (Authorize)
// and the officer still active. RenewOfficerCredential asks it before
// signing and again in the transaction that records.
func renewable(tx store.Tx, me store.Officer, act Action, id string) (store.Officer, error) {
	o, err := reissuable(tx, me, id)
	if err != nil {
		return o, err
	}
	if err := Authorize(me, act, Target{PartyID: o.PartyID, OfficerKind: o.Kind, OfficerID: o.ID}); err != nil {
		return o, err
	}
	switch o.Status {
	case store.StatusActive:
	case store.StatusSuspended:
		return o, fmt.Errorf("%w: officer %s is suspended; reinstate them first (smki officer reinstate --id %s)", ErrInactive, id, id)
	default:
		return o, fmt.Errorf("%w: officer %s is %s; appoint a new officer instead", ErrInactive, id, o.Status)
	}
	return o, nil
}

// reissuable loads officer id for me to renew or re-issue: a party
// officer naming another party's officer, an RA officer or none gets one
// answer (hidden, unseen), before anything is signed for it.
func reissuable(tx store.Tx, me store.Officer, id string) (store.Officer, error) {
	o, err := tx.GetOfficer(id)
	if err != nil {
		return o, hidden(me, "officer", id, raerr.FromStore("officer "+id, err))
	}
	return o, unseen(me, ActReadParty, o.PartyID, "officer", id)
}
