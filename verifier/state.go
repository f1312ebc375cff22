package verifier

import (
	"crypto/x509"
	"fmt"
	"sync"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/bundle/policy"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/internal/dccx509"
	"github.com/smki/smki/role"
)

// policyState is everything derived from one bundle, indexed for the
// request path. It is built once per SetBundle and never mutated.
type policyState struct {
	bundle       *bundle.Bundle
	users        map[eui64.ID]*bundle.User
	devices      map[eui64.ID]*bundle.Device
	eventsBySRP  map[eui64.ID][]*bundle.SoLREvent
	events       []*bundle.SoLREvent
	acceptReason map[*bundle.SoLREvent]string     // "accepted under SoLR event ID"
	adt          map[[2]eui64.ID]*bundle.ADTScope // (SC user, supplier user)
	allow        map[role.UserRole]map[string]bool
	repo         repository
	written      writtenIndex   // repo by X509IssuerSerial as written
	inter        *x509.CertPool // configured intermediates plus the bundle's CA certificates
	bundleRev    map[certKey]time.Time
	inactive     map[eui64.ID]string                 // parties not active in the bundle -> status
	supplierCap  map[eui64.ID]policy.Capacity        // supplier users -> the capacity of their role
	registryOpen map[role.UserRole]bool              // roles the registry is not authoritative for
	partyRev     map[eui64.ID]bundle.PartyRevocation // the bundle's party-wide revocations
}

// inactiveParties indexes the parties whose status is not active.
func inactiveParties(ps []bundle.Party) map[eui64.ID]string {
	out := map[eui64.ID]string{}
	for _, p := range ps {
		if p.Status != bundle.StatusActive {
			out[p.ID] = p.Status
		}
	}
	return out
}

func compilePolicy(b *bundle.Bundle, ta *trustAnchors, extra []*x509.Certificate, rules *policy.DeviceRules) (*policyState, error) {
	if err := b.Validate(); err != nil {
		return nil, err
	}
	p := &policyState{
		bundle:       b,
		users:        make(map[eui64.ID]*bundle.User, len(b.Users)),
		devices:      make(map[eui64.ID]*bundle.Device, len(b.Devices)),
		eventsBySRP:  map[eui64.ID][]*bundle.SoLREvent{},
		acceptReason: make(map[*bundle.SoLREvent]string, len(b.SoLREvents)),
		adt:          make(map[[2]eui64.ID]*bundle.ADTScope, len(b.ADT)),
		allow:        map[role.UserRole]map[string]bool{},
		repo:         repository{},
		inter:        ta.inter.Clone(),
		bundleRev:    map[certKey]time.Time{},
		inactive:     inactiveParties(b.Parties),
		supplierCap:  map[eui64.ID]policy.Capacity{},
		registryOpen: map[role.UserRole]bool{},
		partyRev:     bundle.MergePartyRevocations(nil, b.RevokedParties),
	}
	for i := range b.Users {
		u := &b.Users[i]
		p.users[u.UserID] = u
		if c, ok := rules.CapacityOf(u.Role); ok && (c == policy.ImportSupplier || c == policy.ExportSupplier || c == policy.GasSupplier) {
			p.supplierCap[u.UserID] = c
		}
	}
	for _, r := range b.RegistryNotAuthoritative {
		p.registryOpen[r] = true
	}
	for i := range b.Devices {
		p.devices[b.Devices[i].Device] = &b.Devices[i]
	}
	for i := range b.SoLREvents {
		e := &b.SoLREvents[i]
		p.events = append(p.events, e)
		p.acceptReason[e] = "accepted under SoLR event " + e.ID
		p.eventsBySRP[e.SRPUser] = append(p.eventsBySRP[e.SRPUser], e)
	}
	for i := range b.ADT {
		a := &b.ADT[i]
		p.adt[[2]eui64.ID{a.SCUser, a.SupplierUser}] = a
	}
	for r, srvs := range b.AllowLists {
		set := make(map[string]bool, len(srvs))
		for _, s := range srvs {
			set[s] = true
		}
		p.allow[r] = set
	}
	for _, c := range ta.cas {
		p.repo.add(c)
	}
	for _, c := range extra {
		p.repo.add(c)
	}
	for i, der := range b.Certificates {
		c, err := dccx509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("%w: certificates[%d]: %v", bundle.ErrBundleInvalid, i, err)
		}
		p.repo.add(c)
		if c.IsCA {
			p.inter.AddCert(c)
		}
	}
	p.written = p.repo.written()
	if err := addRevoked(p.bundleRev, b.Revoked); err != nil {
		return nil, fmt.Errorf("%w: %v", bundle.ErrBundleInvalid, err)
	}
	return p, nil
}

// supplierOfFailedParty reports whether supplier is one of e's failed
// supplier users: named in the event, or a user of the failed party.
// deviceAt is the registry entry of id at t and the supplier user in
// force for it then (bundle.Device.SupplierAt; SupplierUser when that
// user's role is unknown); ok is false when the registry does not hold
// the device at t (never imported, or removed by then).
func (p *policyState) deviceAt(id eui64.ID, at time.Time) (dev *bundle.Device, supplier eui64.ID, ok bool) {
	dev, ok = p.devices[id]
	if !ok || dev.RemovedAt(at) {
		return nil, eui64.ID{}, false
	}
	c, known := p.supplierCap[dev.SupplierUser]
	if !known {
		return dev, dev.SupplierUser, true
	}
	supplier, _ = dev.SupplierAt(at, c)
	return dev, supplier, true
}

func (p *policyState) supplierOfFailedParty(e *bundle.SoLREvent, supplier eui64.ID) bool {
	if e.NamesSupplier(supplier) {
		return true
	}
	u, ok := p.users[supplier]
	return ok && u.PartyID == e.FailedParty
}

// revState is the revocation data: the bundle's list, the feed pages and
// the CRLs, merged. Both maps are read-only once the state is published:
// revoked holds everything at the last full merge, recent the feed pages
// applied since (at most revRecentMax entries), so that a feed page costs
// its own size and not the size of everything revoked before it
// (withPage). A certificate's revocation time is the earlier of the two.
type revState struct {
	revoked    map[certKey]time.Time
	recent     map[certKey]time.Time
	seq        uint64
	freshAt    time.Time // newest of the bundle's and the feed's issue times
	crlNext    time.Time // earliest CRL nextUpdate; zero without CRLs
	crls       []heldCRL // the CRLs merged, for readiness (read-only)
	feedSeq    uint64
	feedIssued time.Time
}

// state is one generation of everything the request path reads. Verify
// loads it once, so a request sees one consistent bundle and revocation
// set; SetBundle, AddRevocations and AddCRL swap in a new generation. The
// chain cache belongs to the policy (pol): a new bundle starts an empty
// one, while new revocation data keeps it, since a chain check does not
// read revocation data (every request checks revocation on its own,
// against its generation's rev).
type state struct {
	gen   uint64
	pol   *policyState
	rev   *revState
	party map[eui64.ID]string // parties not active -> status (bundle, or the newer feed list)
	// partyRev: the party-wide revocations of the bundle and the feed.
	partyRev map[eui64.ID]bundle.PartyRevocation
	cache    *sync.Map // leaf *x509.Certificate of the repository, or [32]byte fingerprint of a KeyInfo one -> *chainResult
}

// mergeRevocations builds the revocation view of pol + feed entries + CRLs.
func mergeRevocations(pol *policyState, feed map[certKey]time.Time, feedSeq uint64, feedIssued time.Time, crls *crlSet) *revState {
	r := &revState{
		revoked:    make(map[certKey]time.Time, len(pol.bundleRev)+len(feed)+len(crls.revoked)),
		seq:        max(pol.bundle.RevocationSeq, feedSeq),
		freshAt:    pol.bundle.IssuedAt,
		crlNext:    crls.nextUpdate,
		crls:       crls.held,
		feedSeq:    feedSeq,
		feedIssued: feedIssued,
	}
	if feedIssued.After(r.freshAt) {
		r.freshAt = feedIssued
	}
	mergeEarliest(r.revoked, pol.bundleRev, feed, crls.revoked)
	return r
}

// mergeEarliest adds every entry of srcs to into, keeping for each
// certificate its earliest revocation time.
func mergeEarliest(into map[certKey]time.Time, srcs ...map[certKey]time.Time) {
	for _, src := range srcs {
		for k, t := range src {
			if old, ok := into[k]; !ok || t.Before(old) {
				into[k] = t
			}
		}
	}
}

// revRecentMax bounds revState.recent: a feed page that would take it
// past this many entries folds everything into a new revoked map instead.
// Copying recent costs at most this much per page; a full merge costs
// everything revoked, at most once per revRecentMax entries.
const revRecentMax = 4096

// revokedAt returns the earliest revocation time along the chain.
func (r *revState) revokedAt(chain []certKey) (time.Time, bool) {
	var when time.Time
	found := false
	for _, k := range chain {
		for _, m := range [2]map[certKey]time.Time{r.revoked, r.recent} {
			if t, ok := m[k]; ok && (!found || t.Before(when)) {
				when, found = t, true
			}
		}
	}
	return when, found
}

// withPage returns r with a feed page applied: its entries (page, merged
// the way mergeRevocations merges, the earliest time wins) and its
// sequence and issue time. r is not changed; the result shares r's maps
// where it does not change them.
func (r *revState) withPage(page map[certKey]time.Time, seq uint64, issued time.Time) *revState {
	n := *r
	n.seq = max(r.seq, seq)
	n.feedSeq, n.feedIssued = seq, issued
	if issued.After(n.freshAt) {
		n.freshAt = issued
	}
	if len(page) == 0 {
		return &n
	}
	if len(r.recent)+len(page) > revRecentMax {
		// Fold: one new revoked map with everything, no recent entries.
		n.revoked = make(map[certKey]time.Time, len(r.revoked)+len(r.recent)+len(page))
		mergeEarliest(n.revoked, r.revoked, r.recent, page)
		n.recent = nil
		return &n
	}
	n.recent = make(map[certKey]time.Time, len(r.recent)+len(page))
	mergeEarliest(n.recent, r.recent, page)
	return &n
}

// partyRevokedAt reports whether a party-wide revocation covers the
// signer res: its User ID is a user of a revoked party (by the bundle) and
// its certificate's notBefore is before the record's issued_before. It
// returns the record, whose revoked_at the caller compares with the
// request time.
func (s *state) partyRevokedAt(res *chainResult) (bundle.PartyRevocation, bool) {
	if len(s.partyRev) == 0 {
		return bundle.PartyRevocation{}, false
	}
	u, ok := s.pol.users[res.uid]
	if !ok {
		return bundle.PartyRevocation{}, false
	}
	r, ok := s.partyRev[u.PartyID]
	if !ok {
		return r, false
	}
	_, covered := r.Covers(res.issued)
	return r, covered
}
