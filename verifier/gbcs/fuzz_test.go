package gbcs

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"

	"github.com/smki/smki/internal/conformance"
)

// FuzzParseHeader checks that no input panics ParseHeader or ToCredit, that
// every failure carries a stable code, and that what parses is consistent.
// Seeds: every RTDS vector when the conformance data is present (found
// with conformance.Find so a clone without it still fuzzes), plus
// synthetic frames.
func FuzzParseHeader(f *testing.F) {
	if dir, err := conformance.Find(); err == nil {
		if vs, err := readVectors(filepath.Join(dir, "gbcs")); err == nil {
			for _, v := range vs {
				f.Add(v.msg)
			}
		}
	}
	for _, s := range []string{
		gsHead + "00" + code1A + content,
		gsHead + dtUTC + code1A + content + sig64,
		gsHead + "00" + "81 02 001A" + "82 0003 010203" + "00",
		"DD 00 00 00 00 00 00 1B 11 00000000" + "DF 09 01 00" + "00", // inner frame cut short
		"DF",
		"",
	} {
		b, err := ParseHex(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		in := bytes.Clone(b)
		h, err := ParseHeader(b)
		if !bytes.Equal(in, b) {
			t.Fatal("ParseHeader modified its input")
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error without a stable code: %v", err)
			}
		} else {
			if h.Kind < KindPreCommand || h.Kind > KindAlert || h.UseCase == "" {
				t.Fatalf("kind %v use case %q", h.Kind, h.UseCase)
			}
			if n := len(h.Signature); n != 0 && n != signatureLen {
				t.Fatalf("signature of %d bytes", n)
			}
			if len(h.SignedData) >= len(b) || !bytes.HasSuffix(h.SignedData, h.Content) {
				t.Fatal("SignedData inconsistent with the input")
			}
		}
		uc, ok, err := ToCredit(b)
		switch {
		case ok && (err != nil || !uc.ToCredit() || h == nil || h.Signature == nil):
			t.Fatalf("ToCredit true for %s (err %v)", uc, err)
		case !ok && err == nil:
			t.Fatal("ToCredit false without a reason")
		case !ok && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrNotCommand) &&
			!errors.Is(err, ErrUnsigned) && !errors.Is(err, ErrNotCredit) && !errors.Is(err, ErrContent):
			t.Fatalf("ToCredit reason without a stable code: %v", err)
		}
		at, err := ExecutionTime(b)
		switch {
		case !ok && err == nil:
			t.Fatal("ExecutionTime of a command ToCredit refuses")
		case err != nil && at != nil:
			t.Fatal("ExecutionTime returned a time with its error")
		case err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrNotCommand) && !errors.Is(err, ErrUnsigned) &&
			!errors.Is(err, ErrNotCredit) && !errors.Is(err, ErrContent) && !errors.Is(err, ErrCancellation):
			t.Fatalf("ExecutionTime error without a stable code: %v", err)
		}
	})
}
