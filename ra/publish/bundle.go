package publish

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/ca"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/internal/dccx509"
	"github.com/smki/smki/ra/ownpki"
	"github.com/smki/smki/ra/raerr"
	"github.com/smki/smki/ra/records"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
)

// Answer is a conditional bundle export: the signed envelope and its
// ETag, or NotModified (no Data) when the caller's copy is still good.
type Answer struct {
	Data        []byte
	ETag        string
	NotModified bool
}

// Certificates says whether a bundle carries the end-entity certificates
// (docs/bundle.md, "Certificates").
type Certificates bool

// The two forms of a bundle.
const (
	// Embedded: every xml-signing certificate in certificates, so that
	// `smki verify` resolves any signer offline. It grows with every
	// certificate issued (~0.9 KB each). GET /v1/bundle's default.
	Embedded Certificates = true
	// Omitted: certificates left out (GET /v1/bundle?certificates=omit):
	// a following verifier looks each signer up by IssuerSerial in the
	// repository (docs/verifier.md), so the bundle's size does not grow
	// with the certificates issued.
	Omitted Certificates = false
)

// SignedBundle builds the bundle (Bundle) and signs it, with a conditional
// refresh (GET /v1/bundle with If-None-Match, docs/bundle.md "Conditional
// refresh"). The ETag is "<content>-<issued_at>": content, a hash of the
// bundle without its issued_at and audit_head (which change on every
// export), and the Unix time it was issued. ifNoneMatch names the
// caller's copy: if its content is the current one and it was issued less
// than half of max_age ago, the answer is NotModified, so a verifier keeps
// the bundle it has (no transfer, no parse) and never holds one older than
// max_age/2 plus its refresh interval. Anything else is a fresh signed
// bundle. The caller has authorised and audited the read.
func (p *Publisher) SignedBundle(ctx context.Context, ifNoneMatch string, certs Certificates) (Answer, error) {
	if err := p.Ready(); err != nil {
		return Answer{}, err
	}
	// One build at a time (issue 20): a build reads the directory in one
	// read transaction, and several followers' builds of a 100,000
	// certificate bundle at once held every PostgreSQL connection for
	// seconds, so the SoLR cut-off and the feed waited for one.
	select {
	case p.builds <- struct{}{}:
	case <-ctx.Done():
		return Answer{}, ctx.Err()
	}
	b, digests, err := p.build(ctx, certs)
	<-p.builds
	if err != nil {
		return Answer{}, err
	}
	content, err := bundleContentHash(b, digests)
	if err != nil {
		return Answer{}, err
	}
	if have, issued, ok := parseBundleETag(ifNoneMatch); ok && have == content &&
		b.IssuedAt.Sub(issued) < time.Duration(b.MaxAge)/2 && !issued.After(b.IssuedAt) {
		return Answer{ETag: ifNoneMatch, NotModified: true}, nil
	}
	data, err := p.signer.SignBundle(b)
	if err != nil {
		return Answer{}, fmt.Errorf("%w: signing the bundle: %w", ownpki.ErrSigner, err)
	}
	return Answer{Data: data, ETag: `"` + content + "-" + strconv.FormatInt(b.IssuedAt.Unix(), 10) + `"`}, nil
}

// Bundle assembles the unsigned bundle from the store in one read
// transaction:
//   - users and parties with their statuses (a failed Supplier's party is
//     "failed");
//   - allow_lists: SC's effective list (the stored override, else the
//     DUIS-matrix default, SR 1.6), so verifiers need not share our default;
//   - solr_events: every approved, active or closed event (declared ones
//     authorise nothing and are left out), failed_supplier_users being the
//     failed party's supplier users (IS, ES, GS);
//   - adt: every accepted ADT file;
//   - devices: the whole registry (alert routing needs the registered
//     supplier of every device, not only of those in an event's scope);
//   - certificates (certs Embedded only): every xml-signing certificate
//     of the CA, good or revoked (a verifier must resolve a revoked
//     signer to say REVOKED);
//   - revoked: every revoked certificate (issuer DN, hex serial, time,
//     reason) and revocation_seq, the store's revocation sequence;
//   - audit_head: the last committed audit entry's seq and hash, so that
//     every bundle kept by a verifier anchors the audit chain outside the
//     database (smki audit verify --checkpoint).
func (p *Publisher) Bundle(ctx context.Context, certs Certificates) (*bundle.Bundle, error) {
	b, _, err := p.build(ctx, certs)
	return b, err
}

// sectionDigests are the digests (sectionDigest) of a bundle's cached
// sections: the revoked certificates and the devices (nil: not cached,
// computed when needed).
type sectionDigests struct {
	revoked, devices []byte
}

// build is Bundle, with the digests of the sections that came from a
// cache (and were validated when they were read).
func (p *Publisher) build(ctx context.Context, certs Certificates) (*bundle.Bundle, sectionDigests, error) {
	var digests sectionDigests
	now := p.now().UTC()
	b := &bundle.Bundle{Version: bundle.Version, IssuedAt: now, MaxAge: bundle.Duration(p.maxAge),
		AllowLists: map[role.UserRole][]string{}}
	// The audit head must cover what was committed before the build (the
	// export's own record): chain what is pending first.
	if err := p.st.SealAudit(ctx); err != nil {
		return nil, digests, fmt.Errorf("%w: sealing the audit log: %w", raerr.ErrInternal, err)
	}
	err := p.st.View(ctx, func(tx store.Tx) error {
		var err error
		if b.RevocationSeq, err = tx.RevocationSeq(); err != nil {
			return err
		}
		if b.PartySeq, err = records.PartySeq(tx); err != nil {
			return err
		}
		if b.RevokedParties, err = records.PartyRevocations(tx); err != nil {
			return err
		}
		if head, ok, err := records.LastAuditEntry(tx); err != nil {
			return err
		} else if ok {
			b.AuditHead = &bundle.AuditHead{Seq: head.Seq, Hash: hex.EncodeToString(head.Hash)}
		}
		if err := bundleDirectory(tx, b); err != nil {
			return err
		}
		sc, _, err := records.EffectiveSRVs(tx, role.SoLRContingency)
		if err != nil {
			return err
		}
		b.AllowLists[role.SoLRContingency] = sc
		if err := bundleEvents(tx, b); err != nil {
			return err
		}
		adts, err := records.List[records.ADTRecord](tx, records.KindADT)
		if err != nil {
			return err
		}
		for _, r := range adts {
			if r.Withdrawn != nil {
				continue // out of force; kept on record (docs/adt.md)
			}
			b.ADT = append(b.ADT, adtScope(r))
		}
		if b.Devices, digests.devices, err = p.devices.section(tx); err != nil {
			return err
		}
		if certs == Omitted {
			b.Revoked, digests.revoked, err = p.revoked.section(tx, b)
			return err
		}
		return bundleCertificates(tx, b, certs, nil)
	})
	if err != nil {
		return nil, digests, fmt.Errorf("%w: building the bundle: %w", raerr.ErrInternal, err)
	}
	// A cached section was validated when it was read (section); the
	// rest is validated at every build.
	v := *b
	if digests.revoked != nil {
		v.Revoked = nil
	}
	if digests.devices != nil {
		v.Devices = nil
	}
	if err := v.Validate(); err != nil {
		return nil, digests, fmt.Errorf("%w: the bundle built from the store is invalid: %w", raerr.ErrInternal, err)
	}
	return b, digests, nil
}

// devicesCache keeps the devices section of the last build with a digest
// of the device records it was decoded from (ID and stored bytes of each,
// in ID order): a build whose records hash the same takes the section
// from here instead of decoding, validating and marshalling (for the
// content hash) every device again, which with a large registry was most
// of a conditional refresh. The check is exact: it reads every record,
// so no write path has to announce a change.
type devicesCache struct {
	mu     sync.Mutex
	valid  bool
	raw    [sha256.Size]byte
	list   []bundle.Device // shared by every bundle built from it: read only
	digest []byte          // sectionDigest(list)
	builds int             // how many times the section was decoded
}

// section returns the devices section as the records in tx hold it, and
// its digest.
func (c *devicesCache) section(tx store.Tx) ([]bundle.Device, []byte, error) {
	recs, err := tx.ListRecords(records.KindDevice, "", 0)
	if err != nil {
		return nil, nil, fmt.Errorf("list devices: %w", err)
	}
	h := sha256.New()
	var n [8]byte
	for _, r := range recs {
		binary.BigEndian.PutUint64(n[:], uint64(len(r.ID)))
		h.Write(n[:])
		h.Write([]byte(r.ID))
		binary.BigEndian.PutUint64(n[:], uint64(len(r.Value)))
		h.Write(n[:])
		h.Write(r.Value)
	}
	var raw [sha256.Size]byte
	h.Sum(raw[:0])
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.valid && c.raw == raw {
		return c.list, c.digest, nil
	}
	list := make([]bundle.Device, 0, len(recs))
	for _, r := range recs {
		d, err := records.DecodeDevice(r.Value)
		if err != nil {
			return nil, nil, fmt.Errorf("device %s: %w", r.ID, err)
		}
		list = append(list, bundle.Device{Device: d.Device, SupplierUser: d.SupplierUser, SMETS: d.SMETS, Registrations: d.Registrations, Until: d.Until})
	}
	if err := bundle.ValidateDevices(list); err != nil {
		return nil, nil, fmt.Errorf("the devices read from the store: %w", err)
	}
	digest, err := sectionDigest(list)
	if err != nil {
		return nil, nil, err
	}
	c.valid, c.raw, c.list, c.digest = true, raw, list, digest
	c.builds++
	return c.list, c.digest, nil
}

// revokedCache keeps the revoked section of the last compact bundle with
// what it was read at: the revocation sequence, the party sequence and
// the users' parties. The revoked certificates change only by a
// revocation, and every revocation advances the revocation sequence in
// its own transaction; what the section leaves out (coveredByParty)
// depends only on the party-wide revocations, which advance the party
// sequence, and on which party each user is of. A build that reads the
// same three takes the section from here instead of listing (and reading
// the issuer of) every revoked certificate again, which after a
// Supplier's 100,000 certificates were revoked was most of each
// conditional refresh.
type revokedCache struct {
	mu     sync.Mutex
	valid  bool
	key    revokedKey
	list   []bundle.RevokedCert // shared by every bundle built from it: read only
	digest []byte               // revokedDigest(list)
	builds int                  // how many times the section was read from the store
}

type revokedKey struct {
	revocationSeq, partySeq uint64
	users                   [sha256.Size]byte // digest of every user's party
}

// section returns the revoked section of the compact bundle b being
// built in tx (b's sequences, party-wide revocations and users already
// read in tx), and its digest.
func (c *revokedCache) section(tx store.Tx, b *bundle.Bundle) ([]bundle.RevokedCert, []byte, error) {
	h := sha256.New()
	for _, u := range b.Users {
		h.Write(u.UserID[:])
		h.Write(u.PartyID[:])
	}
	key := revokedKey{revocationSeq: b.RevocationSeq, partySeq: b.PartySeq}
	h.Sum(key.users[:0])
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.valid && c.key == key {
		return c.list, c.digest, nil
	}
	var sec bundle.Bundle
	if err := bundleCertificates(tx, &sec, Omitted, coveredByParty(b)); err != nil {
		return nil, nil, err
	}
	if err := bundle.ValidateRevoked(sec.Revoked); err != nil {
		return nil, nil, fmt.Errorf("the revoked certificates read from the store: %w", err)
	}
	digest, err := sectionDigest(sec.Revoked)
	if err != nil {
		return nil, nil, err
	}
	c.valid, c.key, c.list, c.digest = true, key, sec.Revoked, digest
	c.builds++
	return c.list, c.digest, nil
}

// coveredByParty returns the test that leaves a revoked certificate out
// of b's compact revoked section: a party-wide revocation in b refuses it
// whenever its own entry would, so the entry tells a verifier nothing. That
// is, by b's users its user is of a party with a record in
// b.RevokedParties that covers its notBefore (bundle.PartyRevocation.Covers,
// as the verifier applies it) from no later than its own revoked_at.
// A verifier merges the records it holds into wider ones, never
// narrower, so what the bundle's records cover it covers too.
func coveredByParty(b *bundle.Bundle) func(store.Certificate) bool {
	if len(b.RevokedParties) == 0 {
		return func(store.Certificate) bool { return false }
	}
	recs := bundle.MergePartyRevocations(nil, b.RevokedParties)
	partyOf := make(map[string]eui64.ID, len(b.Users))
	for _, u := range b.Users {
		partyOf[u.UserID.String()] = u.PartyID
	}
	return func(c store.Certificate) bool {
		party, ok := partyOf[c.UserID]
		if !ok {
			return false
		}
		r, ok := recs[party]
		if !ok {
			return false
		}
		from, covered := r.Covers(c.NotBefore)
		return covered && !c.RevokedAt.Before(from)
	}
}

// sectionDigest is the SHA-256 of a bundle section's JSON.
func sectionDigest[T any](section []T) ([]byte, error) {
	j, err := json.Marshal(section)
	if err != nil {
		return nil, fmt.Errorf("%w: bundle content: %v", raerr.ErrInternal, err)
	}
	h := sha256.Sum256(j)
	return h[:], nil
}

func bundleDirectory(tx store.Tx, b *bundle.Bundle) error {
	ps, err := tx.ListParties()
	if err != nil {
		return err
	}
	for _, p := range ps {
		id, err := eui64.Parse(p.ID)
		if err != nil {
			return fmt.Errorf("stored party %q: %v", p.ID, err)
		}
		b.Parties = append(b.Parties, bundle.Party{ID: id, Name: p.Name, Status: p.Status})
	}
	us, err := tx.ListUsers("")
	if err != nil {
		return err
	}
	for _, u := range us {
		id, _ := eui64.Parse(u.ID)
		pid, _ := eui64.Parse(u.PartyID)
		b.Users = append(b.Users, bundle.User{UserID: id, PartyID: pid, Role: role.UserRole(u.Role), Status: u.Status, Name: u.Name})
	}
	return nil
}

func bundleEvents(tx store.Tx, b *bundle.Bundle) error {
	events, err := records.List[records.SoLREvent](tx, records.KindEvent)
	if err != nil {
		return err
	}
	for _, e := range events {
		if e.State == bundle.EventDeclared || e.ApprovedAt == nil {
			continue // never approved: authorises nothing
		}
		sups, err := records.SupplierUsers(tx, e.FailedParty)
		if err != nil {
			return err
		}
		if sups == nil {
			sups = []eui64.ID{}
		}
		ve := bundle.SoLREvent{ID: e.ID, FailedParty: e.FailedParty, FailedSupplierUsers: sups, SRPUser: e.SRPUser,
			Instruction: e.Instruction, Start: e.Start, End: e.End, State: e.State, ApprovedBy: e.ApprovedBy}
		if e.RevokeAt != nil {
			ve.RevokeAt = *e.RevokeAt
		}
		b.SoLREvents = append(b.SoLREvents, ve)
	}
	return nil
}

// adtScope converts a record to the bundle's form.
func adtScope(r records.ADTRecord) bundle.ADTScope {
	sc := bundle.ADTScope{SCUser: r.SCUser, SupplierUser: r.SupplierUser, SRVs: map[string]bundle.ADTThreshold{}}
	for _, t := range r.Thresholds {
		sc.SRVs[t.SRV] = bundle.ADTThreshold{Period: t.Period, Warning: t.Warning, Quarantine: t.Quarantine}
	}
	return sc
}

// bundleCertificates fills revoked (and, when embed, certificates) from
// the store's certificates, leaving out of revoked those that skip (if
// not nil) reports.
func bundleCertificates(tx store.Tx, b *bundle.Bundle, embed Certificates, skip func(store.Certificate) bool) error {
	var filter store.CertFilter
	if !embed {
		filter.Status = store.StatusRevoked // only revoked[] needs them
	}
	certs, err := tx.ListCertificates(filter)
	if err != nil {
		return err
	}
	// Raw issuer bytes -> DN: one certificate per issuer is parsed, and of
	// the others only the issuer is read (dccx509.RawIssuer). Parsing
	// every revoked certificate was 70% of a build after a Supplier's
	// 100,000 certificates were revoked, and a build runs at every
	// conditional refresh of every verifier.
	issuerDN := map[string]string{}
	for _, c := range certs {
		if embed && c.UserID != "" && c.Profile == string(ca.XMLSigning) {
			b.Certificates = append(b.Certificates, c.DER)
		}
		if c.Status != store.StatusRevoked || skip != nil && skip(c) {
			continue
		}
		raw, ok := dccx509.RawIssuer(c.DER)
		if !ok {
			return fmt.Errorf("stored certificate %s: no issuer name where a certificate has one", c.Serial)
		}
		dn, ok := issuerDN[string(raw)]
		if !ok {
			x, err := dccx509.ParseCertificate(c.DER)
			if err != nil {
				return fmt.Errorf("stored certificate %s: %v", c.Serial, err)
			}
			dn = x.Issuer.String()
			issuerDN[string(raw)] = dn
		}
		b.Revoked = append(b.Revoked, bundle.RevokedCert{Issuer: dn, Serial: c.Serial, RevokedAt: c.RevokedAt, Reason: c.Reason})
	}
	return nil
}

// bundleContentHash hashes b without issued_at and audit_head: the JSON
// of the rest without the revoked and devices sections, then each
// section's digest (sectionDigest; from digests where the section came
// from a cache, computed otherwise), so that a bundle whose sections came
// from the caches is not marshalled whole to be compared.
func bundleContentHash(b *bundle.Bundle, digests sectionDigests) (string, error) {
	var err error
	if digests.revoked == nil {
		if digests.revoked, err = sectionDigest(b.Revoked); err != nil {
			return "", err
		}
	}
	if digests.devices == nil {
		if digests.devices, err = sectionDigest(b.Devices); err != nil {
			return "", err
		}
	}
	c := *b
	c.IssuedAt, c.AuditHead, c.Revoked, c.Devices = time.Time{}, nil, nil, nil
	j, err := json.Marshal(&c)
	if err != nil {
		return "", fmt.Errorf("%w: bundle content: %v", raerr.ErrInternal, err)
	}
	h := sha256.New()
	h.Write(j)
	h.Write(digests.revoked)
	h.Write(digests.devices)
	return hex.EncodeToString(h.Sum(nil)[:16]), nil
}

// parseBundleETag reads one ETag of ours ("<content>-<unix>"); a list or
// anything else is not ours (ok false: a fresh bundle is sent).
func parseBundleETag(s string) (content string, issued time.Time, ok bool) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "W/")
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return "", time.Time{}, false
	}
	content, unix, found := strings.Cut(s[1:len(s)-1], "-")
	if !found || len(content) != 32 {
		return "", time.Time{}, false
	}
	n, err := strconv.ParseInt(unix, 10, 64)
	if err != nil {
		return "", time.Time{}, false
	}
	return content, time.Unix(n, 0), true
}
