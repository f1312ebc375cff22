package ra

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/eligibility"
	"github.com/smki/smki/ra/raerr"
	"github.com/smki/smki/ra/records"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
)

// enrolPlan is what the checks decided, for the CA.
type enrolPlan struct {
	user store.User
	csr  *x509.CertificateRequest
	cn   string
	kh   string // the hash of the CSR's key (ca.KeyHash)
}

// Enrol checks req and, if every check passes, has the CA issue the
// certificate; the "allowed" audit record commits in the CA's transaction.
// The checks, in order (checkEnrol): the actor is an active SRO/ARO of
// the user's party; user and party are active; the user's role is
// eligible for the profile (eligibility matrix); the CSR parses (P-256,
// valid signature); its subject names this user and profile; the key fits
// the mode (never certified for enrol and rekey, the replaced
// certificate's key for renew; in no case certified for another user);
// the certificate a renew or rekey replaces is the user's, of the
// profile, good and not replaced before: a certificate is replaced once
// (its replacement is recorded with it, records.PutReplacement). A
// refusal is audited and writes nothing else.
//
// The checks read a snapshot before the CA signs; the CA records the
// certificate in a transaction of its own, later. Every check that reads
// the store (officer, user and party, the key's certificates, the
// replaced certificate and its replacement) runs again in that
// transaction (ca.IssueRequest.Check, the same checkEnrol; the CSR, which
// cannot change, is not parsed again), so a change in the window (the
// officer removed or its credential superseded, the user or party
// suspended or failed, the key certified or the replaced certificate
// revoked or replaced by a concurrent or repeated request) refuses the
// certificate there, with the code a request made after the change gets:
// it is not recorded, its intent is failed in that transaction (the
// serial burnt, not left open) and the refusal is audited. Two
// enrolments of one key, or replacing one certificate, are recorded one
// transaction after the other (ca.IssueRequest.Conflicts), so the second
// sees the first.
func (s *Service) Enrol(ctx context.Context, a Actor, req EnrolRequest) (Issued, error) {
	if err := checkEnrol(req); err != nil {
		return Issued{}, err
	}
	if req.Replaces != "" {
		n, err := ca.NormaliseSerial(req.Replaces)
		if err != nil {
			return Issued{}, fmt.Errorf("%w: %w", ErrReplaced, err)
		}
		req.Replaces = n
	}
	subject := "user:" + req.UserID.String()
	act := ActEnrol
	var plan enrolPlan
	err := s.st.View(ctx, func(tx store.Tx) error {
		// What checkEnrol reads, read at once where the engine reads
		// ahead (parsing the CSR for its key costs 20-40 µs): on
		// PostgreSQL the View is then one round trip.
		var kh string
		if store.ReadsAhead(tx) {
			kh = keyHashOf(req.CSR)
		}
		if err := store.Prefetch(tx, enrolReads(a, req, kh).Merge(store.ReadAhead{Users: []string{req.UserID.String()}})); err != nil {
			return err
		}
		var err error
		plan, err = s.checkEnrol(tx, a, req, enrolPlan{}, "")
		return err
	})
	if err != nil {
		s.refusedOf(ctx, a, act, subject, err)
		return Issued{}, err
	}
	detail := fmt.Sprintf("mode=%s profile=%s role=%s party=%s", req.Mode, req.Profile, plan.user.Role, plan.user.PartyID)
	if req.Replaces != "" {
		detail += " replaces=" + req.Replaces
	}
	pid, _ := eui64.Parse(plan.user.PartyID)
	conflicts := []string{"key:" + plan.kh}
	var with func(store.Tx, store.Certificate) error
	if req.Replaces != "" {
		conflicts = append(conflicts, "replaces:"+req.Replaces)
		with = func(tx store.Tx, c store.Certificate) error {
			return records.PutReplacement(tx, req.Replaces, records.Replacement{By: c.Serial, Mode: string(req.Mode), At: c.IssuedAt})
		}
	}
	cert, rec, err := s.issuer.Issue(ctx, ca.IssueRequest{
		CSR:        plan.csr,
		Profile:    req.Profile,
		UserID:     req.UserID,
		PartyID:    pid,
		Role:       role.UserRole(plan.user.Role),
		CommonName: plan.cn,
		Audit:      []store.AuditEntry{s.entryOf(a, act, subject, "allowed", detail)},
		Check: func(tx store.Tx, c store.Certificate) error {
			_, err := s.checkEnrol(tx, a, req, plan, c.Serial)
			return err
		},
		Reads:     enrolReads(a, req, plan.kh),
		Conflicts: conflicts,
		With:      with,
	})
	if err != nil {
		if errors.Is(err, ca.ErrKeyReused) || errors.Is(err, store.ErrDuplicateKey) {
			err = fmt.Errorf("%w: %w", ErrKeyReuse, err)
		}
		s.refusedOf(ctx, a, act, subject, err)
		return Issued{}, err
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "ra issued", slog.String("actor", a.id), slog.String("user", req.UserID.String()),
		slog.String("profile", string(req.Profile)), slog.String("serial", rec.Serial), slog.String("mode", string(req.Mode)))
	return Issued{Cert: certFrom(rec, false), CertPEM: records.PEMCert(cert.Raw)}, nil
}

// enrolReads is what checkEnrol reads besides the user and its party, to
// be read ahead (store.Prefetch): the officer, the certificates of the
// CSR's key kh (if known), and the replaced certificate and its
// replacement.
func enrolReads(a Actor, req EnrolRequest, kh string) store.ReadAhead {
	var r store.ReadAhead
	if !a.system {
		r.Officers = []string{a.id}
	}
	if kh != "" {
		r.KeyHashes = []string{kh}
	}
	if req.Replaces != "" {
		r.Certificates = []string{req.Replaces}
		r.Records = []store.RecordKey{records.ReplacedKey(req.Replaces)}
	}
	return r
}

// keyHashOf is the hash of the CSR's key, as checkKey will look it up, if
// the CSR parses ("" otherwise), so the lookup can be read ahead with the
// enrolment's other reads. It checks nothing: checkEnrol's checks of the
// CSR, and their order, are unchanged.
func keyHashOf(csr []byte) string {
	if len(csr) > ca.MaxCSRSize {
		return "" // checkEnrol refuses it (ca.ParseCSR's limit)
	}
	der := csr
	if block, _ := pem.Decode(bytes.TrimSpace(csr)); block != nil {
		der = block.Bytes
	}
	c, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return ""
	}
	kh, err := ca.KeyHash(c.PublicKey)
	if err != nil {
		return ""
	}
	return kh
}

func checkEnrol(r EnrolRequest) error {
	if err := checkEUI("user ID", r.UserID); err != nil {
		return err
	}
	if _, err := ParseProfile(string(r.Profile)); err != nil {
		return err
	}
	switch r.Mode {
	case ModeEnrol:
		if r.Replaces != "" {
			return fmt.Errorf("%w: replaces is only for renew and rekey", ErrBadRequest)
		}
	case ModeRenew, ModeRekey:
		if r.Replaces == "" {
			return fmt.Errorf("%w: %s needs the serial it replaces", ErrBadRequest, r.Mode)
		}
	default:
		return fmt.Errorf("%w: mode %q (want enrol, renew or rekey)", ErrBadRequest, r.Mode)
	}
	if len(r.CSR) == 0 {
		return fmt.Errorf("%w: no CSR", ErrBadRequest)
	}
	return nil
}

// checkEnrol runs every enrolment check inside tx, in order, as actor a,
// and returns what they decided. It is the one rule of both places an
// enrolment is checked: the View before the CA signs (p zero, self ""),
// and the CA's transaction that records the certificate (p as the View
// decided, self the certificate's serial, which is ignored among the
// key's certificates: see ca.IssueRequest.Check), where the CSR, which
// cannot change, is not parsed and checked again and every check that
// reads the store is.
func (s *Service) checkEnrol(tx store.Tx, a Actor, req EnrolRequest, p enrolPlan, self string) (enrolPlan, error) {
	me, err := s.loadActor(tx, a)
	if err != nil {
		return enrolPlan{}, err
	}
	// Another party's user and no such user get one answer (issue 12
	// finding 7, hidden).
	u, err := tx.GetUser(req.UserID.String())
	if err != nil {
		return enrolPlan{}, hidden(me, "user ID", req.UserID.String(), raerr.FromStore("user "+req.UserID.String(), err))
	}
	if err := Authorize(me, ActEnrol, Target{PartyID: u.PartyID}); err != nil {
		return enrolPlan{}, hidden(me, "user ID", req.UserID.String(), err)
	}
	if err := activeUserAndParty(tx, u); err != nil {
		return enrolPlan{}, err
	}
	r := role.UserRole(u.Role)
	if err := Eligible(r, req.Profile); err != nil {
		return enrolPlan{}, err
	}
	if p.csr == nil {
		csr, err := eligibility.ParseCSR("CSR", req.CSR)
		if err != nil {
			return enrolPlan{}, err
		}
		cn, err := eligibility.CheckCSRSubject(csr, req.UserID, r, req.Profile)
		if err != nil {
			return enrolPlan{}, err
		}
		kh, err := ca.KeyHash(csr.PublicKey)
		if err != nil {
			return enrolPlan{}, fmt.Errorf("%w: %w", ErrCSRInvalid, err)
		}
		p = enrolPlan{csr: csr, cn: cn, kh: kh}
	}
	p.user = u
	if err := checkKey(tx, req, p.kh, self); err != nil {
		return enrolPlan{}, err
	}
	return p, nil
}

// activeUserAndParty refuses a user, or a user's party, that is not active.
func activeUserAndParty(tx store.Tx, u store.User) error {
	if u.Status != store.StatusActive {
		return fmt.Errorf("%w: user %s is %s", ErrInactive, u.ID, u.Status)
	}
	return activeParty(tx, u.PartyID)
}

// checkKey enforces the key rules of the mode, and that the certificate
// a renew or rekey replaces is the user's, of the profile, good and not
// replaced before. self, if not "", is the serial of the certificate
// being recorded: not counted among the key's certificates.
func checkKey(tx store.Tx, req EnrolRequest, kh, self string) error {
	certs, err := tx.CertificatesByKey(kh)
	if err != nil {
		return fmt.Errorf("%w: certificates by key: %w", ErrInternal, err)
	}
	certs = slices.DeleteFunc(certs, func(c store.Certificate) bool { return c.Serial == self })
	uid := req.UserID.String()
	for _, c := range certs {
		if c.UserID != uid {
			// Never say whose: the requester must not learn about other users.
			return fmt.Errorf("%w: this key is certified for another user", ErrKeyReuse)
		}
	}
	if req.Mode == ModeEnrol && len(certs) > 0 {
		// Most often the same enrolment sent again after its answer was
		// lost: say how to get that certificate, not only how to replace it.
		return fmt.Errorf("%w: this key is already certified (serial %s): if that is the certificate you asked for, get it with `smki cert get --serial %s` (GET /v1/certificates/%s); to replace it, use renew",
			ErrKeyReuse, certs[0].Serial, certs[0].Serial, certs[0].Serial)
	}
	if req.Mode == ModeEnrol {
		return nil
	}
	old, err := tx.GetCertificate(req.Replaces)
	if err != nil {
		return fmt.Errorf("%w: replaced certificate %s: %w", ErrReplaced, req.Replaces, err)
	}
	switch {
	case old.UserID != uid:
		return fmt.Errorf("%w: certificate %s is not user %s's", ErrReplaced, old.Serial, uid)
	case old.Profile != string(req.Profile):
		return fmt.Errorf("%w: certificate %s is %s, not %s", ErrReplaced, old.Serial, old.Profile, req.Profile)
	case old.Status != store.StatusGood:
		return fmt.Errorf("%w: certificate %s is %s", ErrReplaced, old.Serial, old.Status)
	}
	by, replaced, err := records.ReplacementOf(tx, old.Serial)
	if err != nil {
		return err
	}
	switch {
	case replaced:
		return fmt.Errorf("%w: certificate %s was already replaced by %s (%s); a certificate is replaced once: %s %s instead",
			ErrReplaced, old.Serial, by.By, by.Mode, req.Mode, by.By)
	case req.Mode == ModeRenew && old.KeyHash != kh:
		return fmt.Errorf("%w: renew keeps the key of %s; this CSR has another (use rekey)", ErrReplaced, old.Serial)
	case req.Mode == ModeRekey && len(certs) > 0:
		return fmt.Errorf("%w: rekey needs a key never certified before", ErrKeyReuse)
	}
	return nil
}
