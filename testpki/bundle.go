package testpki

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/internal/durable"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/role"
)

// Scenario facts the bundle states, for tests that check decisions.
const (
	// EventID names the scenario's SoLR event.
	EventID = "solr-test-0001"
	// Instruction is the Authority's instruction reference.
	Instruction = "OFGEM-SOLR-TEST-0001"
	// BundleMaxAge is how long verifiers may rely on the bundle.
	BundleMaxAge = 7 * 24 * time.Hour
	// ADTPeriod, ADTWarning and ADTQuarantine are the SC user's SR 1.6
	// thresholds for supplier-a's devices.
	ADTPeriod     = 24 * time.Hour
	ADTWarning    = 1000
	ADTQuarantine = 5000
)

// Bundle returns the scenario's policy bundle: supplier-a has failed and
// its certificates are revoked; an approved SoLR event, active from At,
// names srp-sc-xml for supplier-a's devices; SC keeps its default
// allow-list (SR 1.6 only).
func (p *PKI) Bundle() *bundle.Bundle {
	b := &bundle.Bundle{
		Version:       bundle.Version,
		IssuedAt:      p.RevokedAt,
		MaxAge:        bundle.Duration(BundleMaxAge),
		RevocationSeq: 0,
		AllowLists:    map[role.UserRole][]string{role.SoLRContingency: {"1.6"}},
	}
	for _, party := range Parties() {
		status := bundle.StatusActive
		if party == SupplierA {
			status = bundle.StatusFailed
		}
		b.Parties = append(b.Parties, bundle.Party{ID: party.ID, Name: party.Name, Status: status})
	}
	seen := map[eui64.ID]bool{}
	for _, u := range Users() {
		cred := p.Users[u.Name]
		b.Certificates = append(b.Certificates, cred.Cert.Raw)
		if u.Party == SupplierA {
			b.RevocationSeq++
			b.Revoked = append(b.Revoked, bundle.RevokedCert{Issuer: p.Issuing.Subject.String(),
				Serial: fmt.Sprintf("%x", cred.Cert.SerialNumber), RevokedAt: p.RevokedAt, Reason: ReasonCessationOfOperation})
		}
		if seen[u.ID] {
			continue
		}
		seen[u.ID] = true
		b.Users = append(b.Users, bundle.User{UserID: u.ID, PartyID: u.Party.ID, Role: u.Role,
			Status: bundle.StatusActive, Name: u.Name})
	}
	supA, _ := UserByName("supplier-a-xml")
	sc, _ := UserByName("srp-sc-xml")
	b.SoLREvents = []bundle.SoLREvent{{
		ID: EventID, FailedParty: SupplierA.ID, FailedSupplierUsers: []eui64.ID{supA.ID},
		SRPUser: sc.ID, Instruction: Instruction, Start: p.At, State: bundle.EventActive,
		ApprovedBy: "approver", RevokeAt: p.RevokedAt,
	}}
	b.ADT = []bundle.ADTScope{{SCUser: sc.ID, SupplierUser: supA.ID, SRVs: map[string]bundle.ADTThreshold{
		"1.6": {Period: bundle.Duration(ADTPeriod), Warning: ADTWarning, Quarantine: ADTQuarantine},
	}}}
	for _, d := range p.Devices {
		b.Devices = append(b.Devices, bundle.Device{Device: d.ID, SupplierUser: d.Supplier, SMETS: d.SMETS, Registrations: d.registrations()})
	}
	return b
}

// SignBundle signs b with the scenario's RA bundle key.
func (p *PKI) SignBundle(b *bundle.Bundle) ([]byte, error) {
	return bundle.Sign(b, p.BundleKey, p.signerChain())
}

func (p *PKI) writeBundle() error {
	data, err := p.SignBundle(p.Bundle())
	if err != nil {
		return fmt.Errorf("testpki: signing bundle: %w", err)
	}
	// In the trust directory, which is then whole (docs/verifier.md, "The
	// trust directory"), and beside it, where smki verify --bundle and
	// cases.json have always named it: the same bytes.
	for _, path := range []string{filepath.Join(p.Dir, "trust", bundle.TrustBundleFile), filepath.Join(p.Dir, bundle.TrustBundleFile)} {
		if err := durable.WriteNew(path, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
