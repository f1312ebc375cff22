package gbcs

import (
	"bytes"
	"testing"
)

// Red-team (h13): a to-Credit Signed Pre-Command cut short or extended by
// any amount must never classify as to-Credit. The device would reject a
// frame whose lengths disagree, but the verifier must not let a payload it
// has not fully read vouch for the request.
func TestRedTeamTruncatedExtended(t *testing.T) {
	t.Parallel()
	cmds := signedPreCommands(t)
	for _, uc := range []UseCase{ECS02, GCS02} {
		msg, ok := cmds[uc]
		if !ok {
			t.Fatalf("no %s command vector", uc)
		}
		if _, ok, err := ToCredit(msg); !ok {
			t.Fatalf("%s control: %v", uc, err)
		}
		for n := 0; n < len(msg); n++ {
			if _, ok, _ := ToCredit(bytes.Clone(msg[:n])); ok {
				t.Errorf("%s truncated to %d of %d bytes classifies as to-Credit", uc, n, len(msg))
			}
		}
		for _, tail := range [][]byte{{0x00}, {0xDF}, bytes.Repeat([]byte{0x01}, 64)} {
			m := append(bytes.Clone(msg), tail...)
			if _, ok, _ := ToCredit(m); ok {
				t.Errorf("%s with %d trailing bytes classifies as to-Credit", uc, len(tail))
			}
		}
	}
}
