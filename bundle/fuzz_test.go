package bundle_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/internal/errcodes"
)

// FuzzOpenFeedPage: a feed envelope as a follower fetches it from the RA
// (or reads it with smki verify --feed) either opens to a valid page or
// fails with a coded error, never panicking.
func FuzzOpenFeedPage(f *testing.F) {
	key, chain, roots := exampleSigner(testNow)
	page := &bundle.FeedPage{Seq: 3, IssuedAt: testNow, Revoked: []bundle.RevokedCert{{Issuer: "CN=Z1,OU=07", Serial: "0a", RevokedAt: testNow}}}
	signed, err := bundle.SignFeedPage(page, key, chain)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(signed)
	f.Add([]byte(`{"format":"smki-feed/1","payload":"e30=","signature":"","chain":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := bundle.OpenFeedPage(data, roots, testNow)
		if err != nil {
			errcodes.CodedFrom(t, err, data)
			return
		}
		if p.Validate() != nil || p.Signer == nil {
			t.Fatal("opened an invalid page")
		}
	})
}

// FuzzFeedPayload reaches past the signature: each input is a feed page
// payload, sealed in a correctly signed envelope, so the strict decoder
// and Validate see hostile JSON. A refusal is coded; an accepted page
// signs and opens again to the same page (a round trip).
func FuzzFeedPayload(f *testing.F) {
	key, chain, roots := exampleSigner(testNow)
	page := &bundle.FeedPage{Seq: 3, IssuedAt: testNow, PartySeq: 1,
		Revoked: []bundle.RevokedCert{{Issuer: "CN=Z1,OU=07", Serial: "0a", RevokedAt: testNow}}}
	seed, _ := json.Marshal(page)
	f.Add(seed)
	f.Add([]byte(`{"seq":1,"issued_at":"2026-06-01T09:00:00Z","revoked":[],"seq":2}`))
	f.Add([]byte(`{"seq":1,"issued_at":"2026-06-01T09:00:00Z","revoked":[[[[[[[[]]]]]]]]}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		if len(payload) == 0 {
			return
		}
		env := sealedEnvelope(t, bundle.FeedFormat, payload, key, chain)
		p, err := bundle.OpenFeedPage(env, roots, testNow)
		if err != nil {
			errcodes.CodedFrom(t, err, payload)
			return
		}
		again, err := bundle.SignFeedPage(p, key, chain)
		if err != nil {
			t.Fatalf("an opened page does not sign again: %v", err)
		}
		q, err := bundle.OpenFeedPage(again, roots, testNow)
		if err != nil {
			t.Fatalf("a re-signed page does not open: %v", err)
		}
		a, _ := json.Marshal(p)
		b, _ := json.Marshal(q)
		if !bytes.Equal(a, b) {
			t.Fatalf("round trip changed the page:\n%s\n%s", a, b)
		}
	})
}
