package ra

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/ra/records"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/internal/dccx509"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
)

// DefaultBundleMaxAge is the max_age of exported bundles unless
// WithBundleMaxAge says otherwise: verifiers answer STALE after it.
const DefaultBundleMaxAge = 24 * time.Hour

// WithBundleMaxAge sets the max_age written into exported bundles.
func WithBundleMaxAge(d time.Duration) Option { return func(s *Service) { s.bundleMaxAge = d } }

// ExportBundle returns the signed policy bundle (docs/bundle.md) as of the
// service clock, for RA officers and verifier credentials. The read
// is audited before the build, so the bundle's audit_head covers its own
// export; the bundle is built from one read transaction, so its
// revocation_seq is exactly the sequence its revoked list is complete up
// to. ErrSigner if the service has no system signer.
func (s *Service) ExportBundle(ctx context.Context, a Actor) ([]byte, error) {
	ans, err := s.ExportBundleIf(ctx, a, "")
	return ans.Data, err
}

// BuildBundle assembles the unsigned bundle from the store in one read
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
//   - certificates: every xml-signing certificate of the CA, good or
//     revoked (a verifier must resolve a revoked signer to say REVOKED);
//   - revoked: every revoked certificate (issuer DN, hex serial, time,
//     reason) and revocation_seq, the store's revocation sequence;
//   - audit_head: the last committed audit entry's seq and hash, so that
//     every bundle kept by a verifier anchors the audit chain outside the
//     database (smki audit verify --checkpoint).
func (s *Service) BuildBundle(ctx context.Context) (*bundle.Bundle, error) {
	now := s.now().UTC()
	b := &bundle.Bundle{Version: bundle.Version, IssuedAt: now, MaxAge: bundle.Duration(s.bundleMaxAge),
		AllowLists: map[role.UserRole][]string{}}
	// The audit head must cover what was committed before the build (the
	// export's own record): chain what is pending first.
	if err := s.st.SealAudit(ctx); err != nil {
		return nil, fmt.Errorf("%w: sealing the audit log: %w", ErrInternal, err)
	}
	err := s.st.View(ctx, func(tx store.Tx) error {
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
		adts, err := records.List[ADTRecord](tx, records.KindADT)
		if err != nil {
			return err
		}
		for _, r := range adts {
			b.ADT = append(b.ADT, adtScope(r))
		}
		devs, err := records.ListDevices(tx)
		if err != nil {
			return err
		}
		for _, d := range devs {
			b.Devices = append(b.Devices, bundle.Device{Device: d.Device, SupplierUser: d.SupplierUser, SMETS: d.SMETS, Registrations: d.Registrations})
		}
		return bundleCertificates(tx, b)
	})
	if err != nil {
		return nil, fmt.Errorf("%w: building the bundle: %w", ErrInternal, err)
	}
	if err := b.Validate(); err != nil {
		return nil, fmt.Errorf("%w: the bundle built from the store is invalid: %w", ErrInternal, err)
	}
	return b, nil
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
		v := userFrom(u)
		b.Users = append(b.Users, bundle.User{UserID: v.ID, PartyID: v.PartyID, Role: v.Role, Status: u.Status, Name: u.Name})
	}
	return nil
}

func bundleEvents(tx store.Tx, b *bundle.Bundle) error {
	events, err := records.List[SoLREvent](tx, records.KindEvent)
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

func bundleCertificates(tx store.Tx, b *bundle.Bundle) error {
	certs, err := tx.ListCertificates(store.CertFilter{})
	if err != nil {
		return err
	}
	issuerDN := map[string]string{} // raw issuer bytes -> DN, parsed once per issuer
	for _, c := range certs {
		if c.UserID != "" && c.Profile == string(ca.XMLSigning) {
			b.Certificates = append(b.Certificates, c.DER)
		}
		if c.Status != store.StatusRevoked {
			continue
		}
		x, err := dccx509.ParseCertificate(c.DER)
		if err != nil {
			return fmt.Errorf("stored certificate %s: %v", c.Serial, err)
		}
		dn, ok := issuerDN[string(x.RawIssuer)]
		if !ok {
			dn = x.Issuer.String()
			issuerDN[string(x.RawIssuer)] = dn
		}
		b.Revoked = append(b.Revoked, bundle.RevokedCert{Issuer: dn, Serial: c.Serial, RevokedAt: c.RevokedAt, Reason: c.Reason})
	}
	return nil
}
