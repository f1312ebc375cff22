package auditcheck

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/bundle"
)

// TestOpenCheckpointRefusesNonEvidence: what is not a signed bundle is
// never a passing checkpoint; every refusal is ErrCheckpointInvalid and
// names the file. (The end-to-end cases, with a bundle the RA signed and
// a rewritten store, are in ra's audit_checkpoint_test.go.)
func TestOpenCheckpointRefusesNonEvidence(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
	future := `{"format":"x","payload":"` + b64(`{"issued_at":"2030-01-01T00:00:00Z"}`) + `"}`
	dated := func(d time.Duration) string {
		return `{"format":"x","payload":"` + b64(`{"issued_at":"`+now.Add(d).Format(time.RFC3339)+`"}`) + `"}`
	}
	for _, tc := range []struct {
		name, data, want, not string
	}{
		{"empty", "", "", ""},
		{"not JSON", "not a bundle", "", ""},
		{"no signature", `{"format":"smki-bundle/1","payload":"e30="}`, "", ""},
		{"too large", strings.Repeat(" ", bundle.MaxBundleSize+1), "", ""},
		{"from the future", future, "in the future", ""},
		// bundle.MaxClockSkew ahead is the verifiers' tolerance: refused
		// for its signature, not its date; a second beyond it, for its date
		{"at the skew", dated(bundle.MaxClockSkew), "", "in the future"},
		{"beyond the skew", dated(bundle.MaxClockSkew + time.Second), "in the future", ""},
	} {
		_, err := OpenCheckpoint("cp-"+tc.name, []byte(tc.data), x509.NewCertPool(), now)
		if !errors.Is(err, ErrCheckpointInvalid) || !strings.Contains(err.Error(), "cp-"+tc.name) ||
			!strings.Contains(err.Error(), tc.want) || (tc.not != "" && strings.Contains(err.Error(), tc.not)) {
			t.Errorf("%s: %v; want ErrCheckpointInvalid naming the file (and %q, not %q)", tc.name, err, tc.want, tc.not)
		}
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
