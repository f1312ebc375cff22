package records

import (
	"strings"
	"testing"
)

func TestSerialsDetail(t *testing.T) {
	t.Parallel()
	if SerialsDigest([]string{"0a", "0b"}) != SerialsDigest([]string{"0b", "0a"}) {
		t.Error("digest depends on order")
	}
	if SerialsDigest([]string{"0a", "0b"}) == SerialsDigest([]string{"0a", "0c"}) {
		t.Error("digest ignores a serial")
	}
	if d := SerialsDetail([]string{"0b", "0a"}); !strings.HasPrefix(d, "count=2 serials_sha256=") || !strings.HasSuffix(d, " serials=0b,0a") {
		t.Errorf("small: %q", d)
	}
	many := make([]string, AuditSerialsInline+1)
	for i := range many {
		many[i] = strings.Repeat("f", 32)
	}
	if d := SerialsDetail(many); strings.Contains(d, "serials=") || len(d) > 100 {
		t.Errorf("large: %q", d)
	}
}
