package bundle_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"testing"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/internal/ecdsaraw"
	"github.com/smki/smki/internal/errcodes"
	"github.com/smki/smki/role"
)

// sealedEnvelope wraps payload in an envelope of format signed correctly
// by key, whose certificate is chain[0]: what the RA's signer would send
// if it signed those bytes, so a fuzz target reaches the strict decoder
// and Validate rather than stopping at the signature.
func sealedEnvelope(t *testing.T, format string, payload []byte, key *ecdsa.PrivateKey, chain []*x509.Certificate) []byte {
	t.Helper()
	digest := sha256.Sum256(payload)
	sig, err := ecdsaraw.SignSHA256(key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	var der [][]byte
	for _, c := range chain {
		der = append(der, c.Raw)
	}
	env, err := json.Marshal(struct {
		Format    string   `json:"format"`
		Payload   []byte   `json:"payload"`
		Signature []byte   `json:"signature"`
		Chain     [][]byte `json:"chain"`
	}{format, payload, sig, der})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// FuzzBundlePayload reaches past the signature as FuzzFeedPayload does for
// feed pages: each input is a bundle payload sealed in a correctly signed
// envelope, so the strict decoder and Validate see hostile JSON. A refusal
// is coded; an accepted bundle signs and opens again to the same bundle (a
// round trip: what a verifier installs is what the RA could have sent).
func FuzzBundlePayload(f *testing.F) {
	key, chain, roots := exampleSigner(testNow)
	sc := eui64.MustParse("90-B3-D5-1F-30-05-00-00")
	is := eui64.MustParse("90-B3-D5-1F-30-01-00-00")
	srp := eui64.MustParse("90-B3-D5-1F-30-00-00-5C")
	sup := eui64.MustParse("90-B3-D5-1F-30-0A-00-00")
	dev := eui64.MustParse("00-DB-12-34-56-78-90-A1")
	end := testNow.Add(time.Hour)
	b := &bundle.Bundle{
		Version: bundle.Version, IssuedAt: testNow, MaxAge: bundle.Duration(24 * time.Hour), RevocationSeq: 2,
		Parties: []bundle.Party{{ID: srp, Name: "SRP", Status: bundle.StatusActive},
			{ID: sup, Name: "Supplier", Status: bundle.StatusFailed}},
		Users: []bundle.User{{UserID: sc, PartyID: srp, Role: role.SoLRContingency, Status: bundle.StatusActive, Name: "SRP SC"},
			{UserID: is, PartyID: sup, Role: role.ImportSupplier, Status: bundle.StatusActive, Name: "IS"}},
		AllowLists: map[role.UserRole][]string{role.SoLRContingency: {"1.6"}},
		SoLREvents: []bundle.SoLREvent{{ID: "SOLR-1", FailedParty: sup, FailedSupplierUsers: []eui64.ID{is}, SRPUser: sc,
			Instruction: "OFGEM/1", Start: testNow.Add(-time.Hour), End: &end, State: bundle.EventActive, ApprovedBy: "o2"}},
		ADT: []bundle.ADTScope{{SCUser: sc, SupplierUser: is, SRVs: map[string]bundle.ADTThreshold{
			"1.6": {Period: bundle.Duration(time.Hour), Warning: 3, Quarantine: 5}}}},
		Devices: []bundle.Device{{Device: dev, SupplierUser: is, SMETS: 2}},
	}
	if err := b.Validate(); err != nil {
		f.Fatal(err)
	}
	seed, err := json.Marshal(b)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte(`{"version":1,"issued_at":"2026-06-01T09:00:00Z","users":[],"version":2}`))
	f.Add([]byte(`{"version":1,"devices":[[[[[[[[]]]]]]]]}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		if len(payload) == 0 {
			return
		}
		got, err := bundle.Open(sealedEnvelope(t, bundle.BundleFormat, payload, key, chain), roots, testNow)
		if err != nil {
			errcodes.CodedFrom(t, err, payload)
			return
		}
		again, err := bundle.Sign(got, key, chain)
		if err != nil {
			t.Fatalf("an opened bundle does not sign again: %v", err)
		}
		back, err := bundle.Open(again, roots, testNow)
		if err != nil {
			t.Fatalf("a re-signed bundle does not open: %v", err)
		}
		x, _ := json.Marshal(got)
		y, _ := json.Marshal(back)
		if !bytes.Equal(x, y) {
			t.Fatalf("round trip changed the bundle:\n%s\n%s", x, y)
		}
	})
}
