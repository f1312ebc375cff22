package bolt

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/smki/smki/store"
)

// TestCompactRecords: certificates, revocations, intents, parties, users
// and officers round-trip through the compact encoding field for field
// (zero times stay zero), the JSON of
// older files decodes to the same record, and a compact record cut short
// anywhere, or with bytes after its end, is ErrCorrupt.
func TestCompactRecords(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	records := []struct {
		name string
		v    any // a value encode takes
		zero func() any
	}{
		{"good certificate", store.Certificate{Serial: "7a01", Issuer: "issuing-ca", UserID: "90-B3-D5-1F-30-01-00-00",
			PartyID: "90-B3-D5-1F-30-00-00-0A", Profile: "xml-signing", Role: "IS", KeyHash: "ab12",
			NotBefore: at, NotAfter: at.AddDate(1, 0, 0), IssuedAt: at.Add(time.Second), DER: []byte{0x30, 3, 1, 2, 3},
			Status: store.StatusGood, IssuanceSeq: 300}, func() any { return new(store.Certificate) }},
		{"revoked CA certificate", store.Certificate{Serial: "01", Issuer: "root", Profile: "issuing-ca",
			NotBefore: at, NotAfter: at, IssuedAt: at, DER: []byte{0x30, 0}, Status: store.StatusRevoked,
			RevokedAt: at.Add(time.Hour), Reason: 10, RevocationSeq: 1 << 40, IssuanceSeq: 1}, func() any { return new(store.Certificate) }},
		{"zero certificate", store.Certificate{}, func() any { return new(store.Certificate) }},
		{"revocation", store.Revocation{Seq: 7, Serial: "7a01", Issuer: "issuing-ca", UserID: "u", PartyID: "p",
			Reason: 5, RevokedAt: at}, func() any { return new(store.Revocation) }},
		{"pre-epoch revocation", store.Revocation{Seq: 1, Serial: "02", RevokedAt: time.Date(1969, 12, 31, 23, 59, 59, 999, time.UTC)},
			func() any { return new(store.Revocation) }},
		{"open intent", store.Intent{Serial: "7a01", Issuer: "issuing-ca", Profile: "xml-signing", UserID: "90-B3-D5-1F-30-01-00-00",
			LintDER: []byte{0x30, 3, 1, 2, 3}, CreatedAt: at, State: store.IntentOpen}, func() any { return new(store.Intent) }},
		{"completed CA intent", store.Intent{Serial: "01", Issuer: "root", Profile: "issuing-ca", LintDER: make([]byte, 700),
			CreatedAt: at.Add(-time.Hour), State: store.IntentCompleted}, func() any { return new(store.Intent) }},
		{"zero intent", store.Intent{}, func() any { return new(store.Intent) }},
		{"party", store.Party{ID: "90-B3-D5-1F-30-00-00-0A", Name: "Supplier \"A\" Ltd ✓", Status: "active", CreatedAt: at},
			func() any { return new(store.Party) }},
		{"user", store.User{ID: "90-B3-D5-1F-30-01-00-00", PartyID: "90-B3-D5-1F-30-00-00-0A", Role: "IS", Name: "SRP user",
			Status: "suspended", CreatedAt: at}, func() any { return new(store.User) }},
		{"officer", store.Officer{ID: "aro-1", Name: "An ARO", PartyID: "90-B3-D5-1F-30-00-00-0A", Kind: "aro", CertSerial: "7f01",
			CertNotAfter: at.AddDate(1, 0, 0), Status: "active", CreatedAt: at, AppointedBy: "sro-1"}, func() any { return new(store.Officer) }},
		{"RA officer without a certificate expiry", store.Officer{ID: "admin", Kind: "ra-operator", CertSerial: "01", Status: "active",
			CreatedAt: at}, func() any { return new(store.Officer) }},
	}
	for _, rc := range records {
		t.Run(rc.name, func(t *testing.T) {
			data, err := encode(rc.v)
			if err != nil {
				t.Fatal(err)
			}
			if data[0] == '{' {
				t.Fatalf("%T encoded as JSON", rc.v)
			}
			got := rc.zero()
			if err := decode(data, got); err != nil {
				t.Fatal(err)
			}
			if v := reflect.ValueOf(got).Elem().Interface(); !reflect.DeepEqual(v, rc.v) {
				t.Errorf("compact round trip:\n got %+v\nwant %+v", v, rc.v)
			}
			legacy, err := json.Marshal(rc.v)
			if err != nil {
				t.Fatal(err)
			}
			fromJSON := rc.zero()
			if err := decode(legacy, fromJSON); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(fromJSON, got) {
				t.Errorf("JSON record decodes to %+v, compact to %+v", fromJSON, got)
			}
			for n := 1; n < len(data); n++ {
				if err := decode(data[:n], rc.zero()); !errors.Is(err, store.ErrCorrupt) {
					t.Fatalf("record cut to %d of %d bytes: %v, want ErrCorrupt", n, len(data), err)
				}
			}
			if err := decode(append(data[:len(data):len(data)], 0), rc.zero()); !errors.Is(err, store.ErrCorrupt) {
				t.Fatalf("record with a trailing byte: %v, want ErrCorrupt", err)
			}
		})
	}
}

// TestCompactDERIsCopied: a decoded certificate's DER does not alias the
// record's bytes, which bbolt owns only for the transaction.
func TestCompactDERIsCopied(t *testing.T) {
	data, _ := encode(store.Certificate{Serial: "01", DER: []byte{1, 2, 3}})
	var c store.Certificate
	if err := decode(data, &c); err != nil {
		t.Fatal(err)
	}
	for i := range data {
		data[i] = 0xff
	}
	if string(c.DER) != "\x01\x02\x03" || c.Serial != "01" {
		t.Fatalf("decoded record changed with the buffer: %+v", c)
	}
}
