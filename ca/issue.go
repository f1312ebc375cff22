package ca

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"go.step.sm/crypto/x509util"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/internal/dccx509"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
)

// IssueRequest asks for one Organisation Certificate. The RA has already
// decided the requester may have it; the CA checks only that the request is
// well-formed and the CSR agrees with it.
type IssueRequest struct {
	CSR        *x509.CertificateRequest
	Profile    Profile
	UserID     eui64.ID
	PartyID    eui64.ID
	Role       role.UserRole
	CommonName string             // optional subject CN (UTF8String); a CN in the CSR must equal it
	NotBefore  time.Time          // zero = now (Clock)
	Validity   time.Duration      // zero = profile default (10 years); notAfter always ends at 23:59:59 UTC
	Audit      []store.AuditEntry // appended in the same transaction that records the certificate
	// Check, if set, runs in the transaction that records the signed
	// certificate c, so that what it checks (the RA: every enrolment
	// check that reads the store) still holds when the certificate
	// becomes visible, however a concurrent change interleaves. If it
	// returns an error, the certificate is not recorded, the intent is
	// marked failed in that transaction (its serial burnt) and Issue
	// returns the error. It may run more than once and must only read; it
	// judges c as not yet recorded, ignoring c's own serial among the
	// certificates it reads (store.IssuedRecord.Check).
	Check func(tx store.Tx, c store.Certificate) error
	// Reads is what Check reads besides the user and its party, read
	// ahead with the other records of c's transaction
	// (store.IssuedRecord.Reads).
	Reads store.ReadAhead
	// Conflicts names what Check reads that another issuance's record
	// could change (the RA: the key, the replaced certificate): issuances
	// sharing a name are recorded one transaction after the other, so the
	// later one's Check sees the earlier certificate
	// (store.IssuedRecord.Conflicts).
	Conflicts []string
	// With, if set, writes in the transaction that records c, only if it
	// is recorded (the RA: which certificate c replaces). It may run more
	// than once (store.IssuedRecord.With).
	With func(tx store.Tx, c store.Certificate) error
}

// recordTerms is what issuance's step 8 asks of the transaction that
// records a certificate besides recording it and its audit entries (an
// IssueRequest's Check, Reads, Conflicts and With).
type recordTerms struct {
	check     func(store.Tx, store.Certificate) error
	reads     store.ReadAhead
	conflicts []string
	with      func(store.Tx, store.Certificate) error
}

// of is the store's record of rec with audit under these terms.
func (r recordTerms) of(rec store.Certificate, audit []store.AuditEntry) store.IssuedRecord {
	ir := store.IssuedRecord{Cert: rec, Audit: audit, Reads: r.reads, Conflicts: r.conflicts}
	if r.check != nil {
		ir.Check = func(tx store.Tx) error { return r.check(tx, rec) }
	}
	if r.with != nil {
		ir.With = func(tx store.Tx) error { return r.with(tx, rec) }
	}
	return ir
}

// maxSerialAttempts bounds retries on a serial collision, which at 126
// random bits only a broken random source produces.
const maxSerialAttempts = 3

// issueParams is a validated request for any profile, user or system.
type issueParams struct {
	spec       spec
	csr        *x509.CertificateRequest
	userID     eui64.ID
	partyID    eui64.ID
	role       role.UserRole
	commonName string
	notBefore  time.Time
	validity   time.Duration
	audit      []store.AuditEntry
	record     recordTerms
}

// Issue issues a certificate under a user profile (xml-signing,
// digital-signing, key-agreement) and returns it with its store record.
// Refusals (ErrUnknownProfile, ErrBadRequest, ErrBadCSR, ErrKeyAlgorithm,
// ErrCSRSignature, ErrSubjectField, ErrLint, ErrKeyReused) write nothing.
// After the intent is recorded, a failure leaves the intent in the store:
// ErrSigning marks it failed; a final write that failed or whose outcome
// is unknown is settled at once (settleRecord: the certificate returned
// if its commit landed or a rerun records it, the intent failed if the
// store refused it); ErrStore leaves it open for reconciliation only if
// the store stays unreachable, and ErrStore wrapping ErrIntentSettled
// means a reconciler failed the intent first. No certificate is returned unless it
// is recorded.
func (c *CA) Issue(ctx context.Context, req IssueRequest) (*x509.Certificate, store.Certificate, error) {
	sp, ok := specs[req.Profile]
	if !ok || req.Profile == DSPXMLSigning {
		return nil, store.Certificate{}, fmt.Errorf("%w: %q is not a user profile", ErrUnknownProfile, req.Profile)
	}
	if !req.Role.Valid() {
		return nil, store.Certificate{}, fmt.Errorf("%w: User Role %q", ErrBadRequest, req.Role)
	}
	if req.PartyID.IsZero() {
		return nil, store.Certificate{}, fmt.Errorf("%w: zero Party ID", ErrBadRequest)
	}
	return c.issue(ctx, issueParams{spec: sp, csr: req.CSR, userID: req.UserID, partyID: req.PartyID, role: req.Role,
		commonName: req.CommonName, notBefore: req.NotBefore, validity: req.Validity, audit: req.Audit,
		record: recordTerms{check: req.Check, reads: req.Reads, conflicts: req.Conflicts, with: req.With}})
}

// IssueSystem issues the RA/DCC's own dsp-xml-signing certificate (OU=89
// dSPXmlSign, digitalSignature, no User Role binding) for entity id, with
// which the RA signs its policy bundle and revocation feed. It is separate
// from Issue so that no user enrolment path can name this profile.
func (c *CA) IssueSystem(ctx context.Context, csr *x509.CertificateRequest, id eui64.ID, commonName string) (*x509.Certificate, error) {
	cert, _, err := c.issue(ctx, issueParams{spec: specs[DSPXMLSigning], csr: csr, userID: id, partyID: id, commonName: commonName})
	return cert, err
}

// issue is the issuance cycle, in Boulder's order. Each step states the
// invariant it protects.
func (c *CA) issue(ctx context.Context, p issueParams) (*x509.Certificate, store.Certificate, error) {
	var none store.Certificate

	// Step 1: validate. Every refusal happens here, before any write, so a
	// bad request leaves no trace in the store but its error.
	if err := checkCSRKeyAndSignature(p.csr); err != nil {
		return nil, none, err
	}
	if p.userID.IsZero() {
		return nil, none, fmt.Errorf("%w: zero User ID", ErrBadRequest)
	}
	ou := p.spec.ou(p.role).OU()
	if _, err := CheckCSRSubject(p.csr, CSRSubject{OU: ou, UserID: p.userID, CN: p.commonName}); err != nil {
		return nil, none, err
	}
	subject, err := endEntitySubject(p.commonName, ou, p.userID)
	if err != nil {
		return nil, none, err
	}
	now := c.clock()
	// The Root first: the Issuing OCA cannot outlive it, and once the
	// Root has expired a new Issuing OCA would not help.
	if err := c.rootInForce(now); err != nil {
		return nil, none, err
	}
	if !now.Before(c.issuing.NotAfter) {
		return nil, none, fmt.Errorf("%w: the Issuing OCA certificate expired on %s; nothing can be issued under it until a new Issuing OCA is in service",
			ErrCAExpired, c.issuing.NotAfter.UTC().Format(time.RFC3339))
	}
	start := p.notBefore
	if start.IsZero() {
		start = now
	}
	notBefore, notAfter, err := window(start, p.validity, DefaultEndEntityYears, c.issuing.NotAfter)
	if err != nil {
		return nil, none, err
	}
	if notBefore.Before(c.issuing.NotBefore) {
		return nil, none, fmt.Errorf("%w: notBefore %s precedes the issuing CA", ErrBadRequest, notBefore.Format(time.RFC3339))
	}
	skid, err := KeyID(p.csr.RawSubjectPublicKeyInfo)
	if err != nil {
		return nil, none, err
	}
	var binding []byte
	if p.spec.roleBinding {
		ext, err := role.Extension(p.role)
		if err != nil {
			return nil, none, fmt.Errorf("%w: %w", ErrBadRequest, err)
		}
		binding = ext.Value
	}
	keyHash, err := KeyHash(p.csr.PublicKey)
	if err != nil {
		return nil, none, err
	}
	rec := store.Certificate{
		Issuer: IssuerIssuing, UserID: p.userID.String(), PartyID: p.partyID.String(), Profile: string(p.spec.name),
		Role: string(p.role), KeyHash: keyHash, NotBefore: notBefore, NotAfter: notAfter,
		Status: store.StatusGood,
	}

	var lintDER []byte
	var linted *x509.Certificate // crypto/x509's parse of lintDER
	for attempt := 1; ; attempt++ {
		// Step 2: pick a serial: 16 random octets, positive. Uniqueness is
		// the store's (CreateIntent refuses a serial any intent or
		// certificate holds), so two certificates never share a serial.
		serial, err := newSerial(rand.Reader)
		if err != nil {
			return nil, none, err
		}

		// Step 3: build the to-be-signed certificate: the profile
		// template's TBS for this shape (rendered once, see tbs.go) with
		// the validated request's values. Nothing from the CSR but its
		// public key reaches the certificate.
		tbs, err := c.lint.endEntityTBS(p.csr,
			endEntityShape{keyUsage: p.spec.keyUsage, policy: OIDOrganisationCertificatePolicy, roleBinding: string(binding)},
			endEntity{serial: serial, rawSubject: subject, notBefore: notBefore, notAfter: notAfter, subjectKeyID: skid}, c.issuing)
		if err != nil {
			return nil, none, err
		}

		// Step 4: lint: sign the TBS with a throwaway key under a stand-in
		// issuer (same name and key identifier) and run zlint's RFC 5280
		// lints and the SMKI profile lints. The CA key never signs a
		// certificate that failed a lint.
		if lintDER, linted, err = c.lint.tbsCertificate(tbs); err != nil {
			return nil, none, err
		}

		// Step 5: record the intent, with the linted certificate, before
		// signing: after this, whatever happens, the store knows the serial
		// and what was meant to be signed under it. The key-reuse check
		// runs in the same transaction so a refusal writes nothing.
		// Concurrent issuances share the transaction (group commit):
		// the intent is durable when Update returns, as it would be alone.
		// The group's intents are one write (store.CreateIntents: one
		// statement on PostgreSQL); the key check is store.NewIntent's.
		rec.Serial = SerialHex(serial)
		err = c.writes.CreateIntent(ctx, store.NewIntent{KeyHash: rec.KeyHash, Intent: store.Intent{Serial: rec.Serial,
			Issuer: IssuerIssuing, Profile: rec.Profile, UserID: rec.UserID, LintDER: lintDER, CreatedAt: c.clock(), State: store.IntentOpen}})
		var inUse *store.KeyInUseError
		if errors.As(err, &inUse) {
			err = fmt.Errorf("%w: key already certified for %s (serial %s)", ErrKeyReused, inUse.UserID, inUse.Serial)
		}
		if errors.Is(err, store.ErrDuplicateSerial) && attempt < maxSerialAttempts {
			c.log.Warn("serial collision, drawing another", "serial", rec.Serial)
			continue
		}
		if errors.Is(err, ErrKeyReused) {
			return nil, none, err
		}
		if err != nil {
			return nil, none, fmt.Errorf("%w: recording intent %s: %w", ErrStore, rec.Serial, err)
		}
		break
	}

	// Steps 6 and 7: sign with the issuing key taken from the CAS seam
	// (softcas over the KMS signer) exactly the TBS that was linted and
	// recorded in the intent (signLinted takes it from the lint
	// certificate, so the two cannot differ), and check the signature
	// verifies under the Issuing OCA (each signature of a PKCS#11 key, a
	// sample of a softkms key's: selfcheck.go says why). Not softcas.CreateCertificate: it
	// re-parses its output with crypto/x509, which refuses the BIT STRING
	// x500UniqueIdentifier every SMKI subject carries (see
	// internal/dccx509); dccx509 parses the result, once.
	cert, err := c.signLinted(lintDER, linted)
	if err != nil {
		c.failIntent(ctx, rec.Serial, err)
		return nil, none, signingFailed(rec.Serial, err)
	}

	// Step 8: record the certificate, its audit entries and the intent's
	// completion in one transaction. If it fails, the intent stays open and
	// the certificate is not returned: Open reconciles it to failed, so
	// the serial is burnt and nobody holds a certificate the store lacks.
	// The transaction first checks the intent is still open: if a
	// reconciler (another instance, or Reconcile after ReconcileAfter)
	// already marked it failed, the certificate must not appear after the
	// fact, so it is dropped and the caller gets ErrIntentSettled.
	rec.DER = cert.Raw
	rec.IssuedAt = c.clock()
	var refused error // p.check's refusal; the intent failed in the same transaction
	// The group's records are one write (store.RecordIssued: one
	// statement on PostgreSQL), with recordIssuedTx's checks.
	err = recordOutcome(rec.Serial, c.writes.RecordIssued(ctx, p.record.of(rec, stampAudit(c.clock, p.audit))), &refused)
	if err != nil && !errors.Is(err, ErrIntentSettled) {
		// The write failed, or its outcome is unknown (connection lost
		// during COMMIT, caller gone): settle the intent now rather than
		// leave it open until reconciliation.
		err = c.settleRecord(ctx, rec, p.audit, p.record, &refused, err)
	}
	if err == nil && refused != nil {
		c.log.Warn("certificate signed but refused at record time; intent failed", "serial", rec.Serial, "cause", refused)
		return nil, none, refused
	}
	if errors.Is(err, ErrIntentSettled) {
		c.log.Error("certificate signed but its intent was settled meanwhile; certificate dropped", "serial", rec.Serial, "err", err)
		return nil, none, fmt.Errorf("%w: recording certificate %s: %w", ErrStore, rec.Serial, err)
	}
	if err != nil {
		c.log.Error("certificate signed but not recorded; intent left open", "serial", rec.Serial, "err", err)
		return nil, none, fmt.Errorf("%w: recording certificate %s: %w", ErrStore, rec.Serial, err)
	}
	c.log.Info("certificate issued", "serial", rec.Serial, "profile", rec.Profile, "user_id", rec.UserID, "role", rec.Role)
	return cert, rec, nil
}

// recordIssuedTx is issuance's last step in tx: if rec's intent is still
// open and terms' check (if any) passes, record rec and audit (and
// terms' With) and complete the intent; if the check refuses, fail the
// intent and set *refused; if the intent is not open, ErrIntentSettled
// (store.RecordIssuedTx, the write the grouped step 8 makes).
func (c *CA) recordIssuedTx(tx store.Tx, rec store.Certificate, audit []store.AuditEntry, terms recordTerms, refused *error) error {
	return recordOutcome(rec.Serial, store.RecordIssuedTx(tx, terms.of(rec, stampAudit(c.clock, audit))), refused)
}

// recordOutcome maps a store.RecordIssued answer for serial to the CA's:
// a Check refusal sets *refused and is no error (the intent's failure is
// the write to commit), a settled intent is ErrIntentSettled. refused may
// be nil when there is no Check.
func recordOutcome(serial string, err error, refused *error) error {
	if refused != nil {
		*refused = nil
	}
	var notOpen *store.IntentNotOpenError
	var refusal *store.CheckRefusal
	switch {
	case refused != nil && errors.As(err, &refusal):
		*refused = refusal.Err
		return nil
	case errors.As(err, &notOpen):
		return fmt.Errorf("%w: intent %s is %s", ErrIntentSettled, serial, notOpen.State)
	}
	return err
}

// settleAttempts bounds settleRecord's transactions, settleTimeout
// their total time.
const (
	settleAttempts = 4
	settleTimeout  = 15 * time.Second
)

// settleRecord settles step 8 at once after it returned cause: a failure,
// or an outcome the store could not learn (store.ErrInDoubt). In a new
// transaction, on a context that outlives the caller's, it re-reads the
// intent: completed with this certificate means the earlier commit landed
// (success); failed means a reconciler settled it (ErrIntentSettled);
// still open means the earlier write did not commit, so it is recorded
// again, or, if cause is a refusal that would only recur, the intent is
// marked failed and cause returned. A certificate is thus never recorded
// twice, and no intent is left open unless the store stays unreachable
// for every attempt (then reconciliation settles it, as before).
func (c *CA) settleRecord(ctx context.Context, rec store.Certificate, audit []store.AuditEntry,
	terms recordTerms, refusedByCheck *error, cause error) error {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	for attempt := 1; ; attempt++ {
		refused := refusal(cause)
		err := c.st.Update(sctx, func(tx store.Tx) error {
			*refusedByCheck = nil
			in, err := tx.GetIntent(rec.Serial)
			if err != nil {
				return err
			}
			switch in.State {
			case store.IntentCompleted:
				got, err := tx.GetCertificate(rec.Serial)
				if err != nil {
					return err
				}
				if !bytes.Equal(got.DER, rec.DER) {
					return fmt.Errorf("%w: intent %s completed with another certificate", store.ErrCorrupt, rec.Serial)
				}
				return nil
			case store.IntentFailed:
				return fmt.Errorf("%w: intent %s is %s", ErrIntentSettled, rec.Serial, in.State)
			}
			if refused {
				return tx.SetIntentState(rec.Serial, store.IntentFailed)
			}
			return c.recordIssuedTx(tx, rec, audit, terms, refusedByCheck)
		})
		switch {
		case err == nil && refused:
			c.log.Warn("certificate not recorded; intent failed at once", "serial", rec.Serial, "cause", cause)
			return cause
		case err == nil:
			c.log.Warn("certificate record settled after an unknown or failed commit", "serial", rec.Serial,
				"cause", cause, "attempt", attempt)
			return nil
		case errors.Is(err, ErrIntentSettled) || attempt >= settleAttempts || sctx.Err() != nil:
			return err
		}
		cause = err
	}
}

// refusal reports a step-8 failure that recording again would repeat:
// the store refused the certificate itself (its key certified for
// another user meanwhile, its serial taken, a bad or unreadable value).
// Anything else (a commit in doubt, contention, a lost connection, a
// cancelled caller) may have been transient.
func refusal(err error) bool {
	for _, r := range []error{store.ErrDuplicateKey, store.ErrDuplicateSerial, store.ErrInvalid, store.ErrNotFound,
		store.ErrCorrupt, store.ErrAlreadyRevoked, store.ErrExists, store.ErrReadOnly, store.ErrClosed} {
		if errors.Is(err, r) {
			return true
		}
	}
	return false
}

// signLinted signs the TBS of lintDER (a certificate linted under the
// stand-in issuer, which has the Issuing OCA's name and key identifier)
// with the issuing CA's key, checks the signature verifies under the
// Issuing OCA's certificate when the self-check is due (selfCheckEvery),
// and returns the parsed certificate. The TBS
// is not rebuilt: what was linted is byte for byte what is signed. linted,
// if not nil, is crypto/x509's parse of lintDER: the signed certificate's
// is the same but for its signature, so it is not parsed again.
func (c *CA) signLinted(lintDER []byte, linted *x509.Certificate) (*x509.Certificate, error) {
	tbs, _, err := splitSigned(lintDER)
	if err != nil {
		return nil, fmt.Errorf("the linted certificate: %w", err)
	}
	der, err := c.signCertificateTBS(tbs)
	if err != nil {
		return nil, err
	}
	if linted == nil {
		return dccx509.ParseCertificate(der)
	}
	return withSignature(linted, der)
}

// withSignature returns parsed (crypto/x509's parse of a certificate) as
// the parse of der, the same TBSCertificate and signature algorithm with
// another signature: every field but Raw, RawTBSCertificate and Signature
// comes from the TBS and the algorithm, which are unchanged.
// TestWithSignatureEqualsParse holds it to a fresh parse.
func withSignature(parsed *x509.Certificate, der []byte) (*x509.Certificate, error) {
	in := cryptobyte.String(der)
	var outer, tbs, alg cryptobyte.String
	var sig asn1.BitString
	if !in.ReadASN1(&outer, cbasn1.SEQUENCE) || !in.Empty() || !outer.ReadASN1Element(&tbs, cbasn1.SEQUENCE) ||
		!outer.ReadASN1Element(&alg, cbasn1.SEQUENCE) || !outer.ReadASN1BitString(&sig) || !outer.Empty() {
		return nil, errors.New("the signed certificate is not DER")
	}
	if !bytes.Equal(tbs, parsed.RawTBSCertificate) || !bytes.Equal(alg, ecdsaWithSHA256AlgID) ||
		parsed.SignatureAlgorithm != x509.ECDSAWithSHA256 {
		return nil, errors.New("the signed certificate is not the linted one")
	}
	cp := *parsed
	cp.Raw, cp.RawTBSCertificate, cp.Signature = der, tbs, sig.RightAlign()
	return &cp, nil
}

// ecdsaWithSHA256AlgID is the DER AlgorithmIdentifier crypto/x509 writes
// for ecdsa-with-SHA256 (OID 1.2.840.10045.4.3.2, no parameters).
var ecdsaWithSHA256AlgID = []byte{0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02}

// endEntity is what varies between two certificates of one shape: the
// per-request values of the end-entity template.
type endEntity struct {
	serial              *big.Int
	rawSubject          []byte
	notBefore, notAfter time.Time
	subjectKeyID        []byte
}

// endEntityShape is what the template's output depends on besides
// endEntity: the profile's key usage and policy and the role binding.
type endEntityShape struct {
	keyUsage, policy string
	roleBinding      string // the extension value's bytes
}

// renderedShapes caches, per shape, the template rendered once
// (endEntityShape -> *x509.Certificate): rendering (text/template, JSON,
// and x509util's own CSR signature check) cost more than signing.
// TestRenderedShapeEqualsFreshRender holds a cached render to a fresh one.
var renderedShapes sync.Map

// renderEndEntity returns the end-entity x509util template rendered for
// shape with v's values and csr's public key. The template runs once per
// shape; later calls copy its result and set v's fields and the key, the
// only fields the template takes from v (the template reads no CSR field;
// x509util takes only the public key from the CSR). The result's slices
// and maps that v does not set (ExtraExtensions, PolicyIdentifiers,
// ExtKeyUsage and the like) are the cached render's own: callers read them
// and never write to them or append to them in place.
func renderEndEntity(csr *x509.CertificateRequest, shape endEntityShape, v endEntity) (*x509.Certificate, error) {
	cached, ok := renderedShapes.Load(shape)
	if !ok {
		c, err := renderEndEntityTemplate(csr, shape, v)
		if err != nil {
			return nil, err
		}
		cached, _ = renderedShapes.LoadOrStore(shape, c)
	}
	c := *cached.(*x509.Certificate)
	c.SerialNumber = v.serial
	c.RawSubject = v.rawSubject
	c.NotBefore, c.NotAfter = v.notBefore, v.notAfter
	c.SubjectKeyId = v.subjectKeyID
	c.PublicKey, c.PublicKeyAlgorithm = csr.PublicKey, csr.PublicKeyAlgorithm
	return &c, nil
}

// renderEndEntityTemplate runs the end-entity x509util template.
func renderEndEntityTemplate(csr *x509.CertificateRequest, shape endEntityShape, v endEntity) (*x509.Certificate, error) {
	td := x509util.NewTemplateData()
	for k, val := range map[string]any{
		"serial": "0x" + SerialHex(v.serial), "rawSubject": v.rawSubject, "notBefore": v.notBefore, "notAfter": v.notAfter,
		"subjectKeyId": v.subjectKeyID, "keyUsage": shape.keyUsage, "policy": shape.policy,
		"roleBinding": []byte(shape.roleBinding),
	} {
		td.Set(k, val)
	}
	c, err := x509util.NewCertificate(csr, x509util.WithTemplate(endEntityTemplate, td))
	if err != nil {
		return nil, fmt.Errorf("%w: profile template: %v", ErrLint, err)
	}
	return c.GetCertificate(), nil
}

// failIntent marks an intent failed after a signing problem. If even that
// write fails, the intent stays open and Open reconciles it.
func (c *CA) failIntent(ctx context.Context, serial string, cause error) {
	err := c.st.Update(ctx, func(tx store.Tx) error { return tx.SetIntentState(serial, store.IntentFailed) })
	c.log.Error("issuance failed after the intent was recorded", "serial", serial, "cause", cause, "mark_failed_err", err)
}

// appendAudit appends entries in tx, stamping a zero Time with now.
func appendAudit(tx store.Tx, now func() time.Time, entries []store.AuditEntry) error {
	for _, e := range stampAudit(now, entries) {
		if _, err := tx.AppendAudit(e); err != nil {
			return err
		}
	}
	return nil
}

// stampAudit returns entries with a zero Time stamped with now.
func stampAudit(now func() time.Time, entries []store.AuditEntry) []store.AuditEntry {
	if len(entries) == 0 {
		return nil
	}
	out := make([]store.AuditEntry, len(entries))
	for i, e := range entries {
		if e.Time.IsZero() {
			e.Time = now()
		}
		out[i] = e
	}
	return out
}
