package storetest

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smki/smki/store"
)

// base is a time with nanoseconds in a non-UTC zone: engines must return
// it equal and, for the audit chain, at full precision.
var base = time.Date(2026, 3, 4, 5, 6, 7, 123456789, time.FixedZone("BST", 3600))

// randSerial returns a fresh 16-octet lower-case hex serial.
func randSerial(t testing.TB) string {
	t.Helper()
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	b[0] &= 0x7f
	return hex.EncodeToString(b[:])
}

var userCounter atomic.Uint64

// eui returns a distinct canonical EUI-64 string per call.
func eui() string {
	n := userCounter.Add(1)
	return fmt.Sprintf("90-B3-D5-1F-%02X-%02X-%02X-%02X", byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

func keyHash(seed string) string {
	h := sha256.Sum256([]byte(seed))
	return hex.EncodeToString(h[:])
}

func intent(serial, userID string) store.Intent {
	return store.Intent{
		Serial: serial, Issuer: "issuing-ca", Profile: "xml-signing", UserID: userID,
		LintDER: []byte{0x30, 0x03, 0x02, 0x01, 0x01}, CreatedAt: base,
	}
}

func cert(serial, userID, partyID string) store.Certificate {
	return store.Certificate{
		Serial: serial, Issuer: "issuing-ca", UserID: userID, PartyID: partyID,
		Profile: "xml-signing", Role: "SC", KeyHash: keyHash(serial),
		NotBefore: base, NotAfter: base.AddDate(1, 0, 0), IssuedAt: base.Add(time.Nanosecond),
		DER: []byte("der:" + serial),
	}
}

// norm makes records comparable with reflect.DeepEqual: times in UTC
// (location pointers differ otherwise) and empty byte slices as nil.
func norm(v any) any {
	rv := reflect.ValueOf(v)
	out := reflect.New(rv.Type()).Elem()
	out.Set(rv)
	normValue(out)
	return out.Interface()
}

func normValue(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		if tm, ok := v.Interface().(time.Time); ok {
			v.Set(reflect.ValueOf(tm.UTC()))
			return
		}
		for i := 0; i < v.NumField(); i++ {
			normValue(v.Field(i))
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			if v.Len() == 0 {
				v.Set(reflect.Zero(v.Type()))
			}
			return
		}
		n := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(n, v)
		for i := 0; i < n.Len(); i++ {
			normValue(n.Index(i))
		}
		v.Set(n)
	}
}

func same(t testing.TB, what string, got, want any) {
	t.Helper()
	if g, w := norm(got), norm(want); !reflect.DeepEqual(g, w) {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

func serials(cs []store.Certificate) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Serial
	}
	return out
}

func equalBytes(a, b []byte) bool { return bytes.Equal(a, b) }
