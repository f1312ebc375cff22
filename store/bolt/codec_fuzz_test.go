package bolt

import (
	"encoding/binary"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/smki/smki/store"
)

// recordKinds are the compact record types, each as a fresh value.
var recordKinds = []func() any{
	func() any { return new(store.Certificate) }, func() any { return new(store.Revocation) },
	func() any { return new(store.Intent) }, func() any { return new(store.Party) },
	func() any { return new(store.User) }, func() any { return new(store.Officer) },
}

// TestCompactLengthsDoNotWrap: string lengths whose sum wraps around
// 2^64 are a corrupt record (ErrCorrupt), not a panic. The first length
// is 2^64-2 and the second 2, so the sum is 0 and fits any record.
func TestCompactLengthsDoNotWrap(t *testing.T) {
	t.Parallel()
	rec := []byte{fmtCert}
	rec = binary.AppendUvarint(rec, ^uint64(0)-1)
	rec = binary.AppendUvarint(rec, 2)
	for range 6 {
		rec = binary.AppendUvarint(rec, 0)
	}
	rec = append(rec, make([]byte, 64)...)
	var c store.Certificate
	if err := decode(rec, &c); !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("decode = %v, want ErrCorrupt", err)
	}
}

// FuzzDecodeRecord: any bytes decode to a record or fail with ErrCorrupt,
// never panic; what decodes re-encodes to a record that decodes the same.
func FuzzDecodeRecord(f *testing.F) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 8, time.UTC)
	for _, v := range []any{
		store.Certificate{Serial: "0a", Issuer: "CN=Z1", UserID: "u", PartyID: "p", Profile: "xml", Status: store.StatusGood,
			NotBefore: at, NotAfter: at, IssuedAt: at, DER: []byte{0x30, 0}},
		store.Revocation{Serial: "0a", Issuer: "CN=Z1", Reason: 1, RevokedAt: at},
		store.Intent{Serial: "0b", LintDER: []byte{1}, CreatedAt: at, State: store.IntentOpen},
		store.Party{ID: "p", Name: "n", Status: "active", CreatedAt: at},
		store.User{ID: "u", PartyID: "p", Status: "active", CreatedAt: at},
		store.Officer{ID: "o", Name: "n", CreatedAt: at},
	} {
		data, err := encode(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, kind := range recordKinds {
			v := kind()
			if err := decode(data, v); err != nil {
				if !errors.Is(err, store.ErrCorrupt) {
					t.Fatalf("%T: %v, want ErrCorrupt", v, err)
				}
				continue
			}
			again, err := encode(reflect.ValueOf(v).Elem().Interface())
			if err != nil {
				continue // a JSON record with values the compact form refuses
			}
			w := kind()
			if err := decode(again, w); err != nil {
				t.Fatalf("%T re-encoded does not decode: %v", v, err)
			}
		}
	})
}
