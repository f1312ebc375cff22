package gbcs

import (
	"bytes"
	"errors"
	"testing"
)

func TestToCreditVectors(t *testing.T) {
	t.Parallel()
	for _, v := range loadVectors(t) {
		forms := map[string][]byte{"as sent": v.msg}
		if v.kind == KindCommand {
			forms["signed pre-command"] = stripMAC(t, v.msg)
		}
		for form, msg := range forms {
			uc, ok, err := ToCredit(msg)
			var want error
			switch {
			case v.kind == KindResponse || v.kind == KindAlert:
				want = ErrNotCommand
			case v.kind == KindPreCommand:
				want = ErrUnsigned
			case !v.useCase.ToCredit():
				want = ErrNotCredit
			}
			if uc != v.useCase || ok != (want == nil) || !errors.Is(err, want) {
				t.Errorf("%s (%s): ToCredit = %s, %v, %v; want %s, %v, %v", v.name, form, uc, ok, err, v.useCase, want == nil, want)
			}
		}
	}
}

// signedPreCommands returns, per use case, the first COMMAND vector as a
// user's Signed Pre-Command (no MAC header).
func signedPreCommands(t *testing.T) map[UseCase][]byte {
	t.Helper()
	out := map[UseCase][]byte{}
	for _, v := range loadVectors(t) {
		if v.kind == KindCommand && out[v.useCase] == nil {
			out[v.useCase] = bytes.Clone(stripMAC(t, v.msg))
		}
	}
	return out
}

// mutate returns a copy of a Signed Pre-Command with f applied to its
// message-code bytes and its content (both slices of the copy).
func mutate(t *testing.T, msg []byte, f func(code, content []byte)) []byte {
	t.Helper()
	m := bytes.Clone(msg)
	h, err := ParseHeader(m)
	if err != nil {
		t.Fatal(err)
	}
	// DF 09 CRA counter(8) 08 title(8) 08 title(8) = 29 bytes, then an
	// empty date-time and a 2-byte other-information in these vectors.
	if m[29] != 0x00 || m[30] != 0x02 {
		t.Fatalf("unexpected header layout")
	}
	f(m[31:33], h.Content)
	return m
}

func TestToCreditContentChecks(t *testing.T) {
	t.Parallel()
	cmds := signedPreCommands(t)
	setCode := func(c uint16) func(code, _ []byte) {
		return func(code, _ []byte) { code[0], code[1] = byte(c>>8), byte(c) }
	}
	tests := []struct {
		name string
		from UseCase
		f    func(code, content []byte)
		want error
	}{
		{"ECS02 untouched", ECS02, func(_, _ []byte) {}, nil},
		{"GCS02 untouched", GCS02, func(_, _ []byte) {}, nil},
		{"ECS03 payload under the ECS02 code", ECS03, setCode(CodeECS02), ErrContent},
		{"GCS03 payload under the GCS02 code", GCS03, setCode(CodeGCS02), ErrContent},
		{"ECS02 payload under the ECS03 code", ECS02, setCode(CodeECS03), ErrNotCredit},
		{"ECS02 code on a GCS02 payload", GCS02, setCode(CodeECS02), ErrContent},
		{"GCS02 code on an ECS02 payload", ECS02, setCode(CodeGCS02), ErrContent},
		{"ECS02 payment_mode prepayment", ECS02, func(_, c []byte) {
			i := bytes.Index(c, []byte{0x02, 0x02, dlmsEnum})
			c[i+3] = 2
		}, ErrContent},
		{"ECS02 sets another Account attribute", ECS02, func(_, c []byte) {
			i := bytes.Index(c, append(append([]byte{dlmsSet, 0x00, 0x6F}, obisAccount...), attrCreditChargeCfg))
			c[i+9] = 12
		}, ErrContent},
		{"ECS02 sets another object", ECS02, func(_, c []byte) {
			i := bytes.Index(c, obisAccount)
			c[i+3] = 0x01
		}, ErrContent},
		{"ECS02 get instead of set", ECS02, func(_, c []byte) {
			i := bytes.Index(c, append([]byte{dlmsSet, 0x00, 0x6F}, obisAccount...))
			c[i] = 0x01
		}, ErrContent},
		{"ECS02 not an access-request", ECS02, func(_, c []byte) { c[0] = 0xDA }, ErrContent},
		{"GCS02 prepayment enabled", GCS02, func(_, c []byte) { c[len(c)-6] |= 0x02 }, ErrContent},
		{"GCS02 another ZCL command", GCS02, func(_, c []byte) { c[10] = 0x05 }, ErrContent},
		{"GCS02 another cluster", GCS02, func(_, c []byte) { c[5] = 0x04 }, ErrContent},
		{"GCS02 two components", GCS02, func(_, c []byte) { c[2] = 2 }, ErrContent},
		{"GCS02 bad component length", GCS02, func(_, c []byte) { c[7]++ }, ErrContent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			msg, ok := cmds[tc.from]
			if !ok {
				t.Fatalf("no %s command vector", tc.from)
			}
			_, got, err := ToCredit(mutate(t, msg, tc.f))
			if got != (tc.want == nil) || !errors.Is(err, tc.want) {
				t.Fatalf("ToCredit = %v, %v; want ok=%v err %v", got, err, tc.want == nil, tc.want)
			}
		})
	}
}

func TestToCreditUnsignedCommand(t *testing.T) {
	t.Parallel()
	for uc, msg := range signedPreCommands(t) {
		// Replace the signature field by an empty one (a non-critical form).
		h, err := ParseHeader(msg)
		if err != nil {
			t.Fatal(err)
		}
		m := append(bytes.Clone(msg[:len(msg)-1-signatureLen]), 0x00)
		if _, ok, err := ToCredit(m); ok || !errors.Is(err, ErrUnsigned) {
			t.Errorf("%s with an empty signature: %v, %v", uc, ok, err)
		}
		if len(h.Signature) != signatureLen {
			t.Errorf("%s: signature %d bytes", uc, len(h.Signature))
		}
	}
}
