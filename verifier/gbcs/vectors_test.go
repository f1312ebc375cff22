package gbcs

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/smki/smki/internal/conformance"
)

// vector is one RTDS GBCS test vector. Its expected use case and kind come
// from its file name (e.g. ECS02_1.6_..._COMMAND_GBCS.HEX), never from the
// parser under test.
type vector struct {
	name    string
	useCase UseCase
	kind    Kind
	msg     []byte
}

// kindFromName maps a vector's file-name tag to its Kind.
func kindFromName(name string) (Kind, bool) {
	for _, k := range []Kind{KindPreCommand, KindCommand, KindResponse, KindAlert} {
		if strings.Contains(name, "_"+k.String()+"_") {
			return k, true
		}
	}
	return 0, false
}

// readVectors reads every *.HEX under dir/1.6_*/. It is shared by the
// tests (dir from conformance.Dir) and the fuzz seed corpus (conformance.Find).
func readVectors(dir string) ([]vector, error) {
	files, err := filepath.Glob(filepath.Join(dir, "1.6_*", "*.HEX"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []vector
	for _, f := range files {
		text, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		msg, err := ParseHex(string(text))
		if err != nil {
			return nil, err
		}
		base := filepath.Base(f)
		k, _ := kindFromName(base)
		out = append(out, vector{
			name:    base,
			useCase: UseCase(strings.TrimPrefix(filepath.Base(filepath.Dir(f)), "1.6_")),
			kind:    k,
			msg:     msg,
		})
	}
	return out, nil
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	vs, err := readVectors(conformance.Path(t, "gbcs"))
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) < 40 {
		t.Fatalf("found %d GBCS vectors, want the RTDS set (>= 40)", len(vs))
	}
	return vs
}

// stripMAC returns the General Signing frame inside a MAC header, i.e. the
// Signed Pre-Command a user returns in DUIS, as the DCC received it.
func stripMAC(t testing.TB, msg []byte) []byte {
	t.Helper()
	h, err := ParseHeader(msg)
	if err != nil || h.Frame != FrameGeneralCiphering {
		t.Fatalf("not a MAC-header message: %v", err)
	}
	// DD + six empty fields, a BER length, 5-byte security header.
	r := &reader{b: msg, off: 7}
	if _, err := r.length("len"); err != nil {
		t.Fatal(err)
	}
	return msg[r.off+5 : len(msg)-macLen]
}
