package e2e

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestOfficerSuspend: on the real binary, an SRP's SRO suspends its ARO
// (docs/api.md, "Suspending an officer"). The ARO's next request is
// refused E_RA_OFFICER_INACTIVE (exit 3); reinstated, the same credential
// works again. The ARO may not suspend its SRO (E_RA_FORBIDDEN), nor may
// the only ra-operator be suspended (E_RA_FORBIDDEN); a second suspension
// is E_RA_INACTIVE.
func TestOfficerSuspend(t *testing.T) {
	t.Parallel()
	_, _, ra := devRA(t)
	work := t.TempDir()
	sro, _ := srpSCAsSRO(t, ra, work)
	aroDir := filepath.Join(work, "aro")
	sro.must("officer", "add", "--id", "srp1-aro", "--name", "Al Roe", "--kind", "aro", "--party", "90-B3-D5-1F-30-00-00-5C", "--out", aroDir)
	aro := ra.as(aroDir)
	aro.must("user", "list")

	aro.refused("E_RA_FORBIDDEN", "officer", "suspend", "--id", "srp1-sro")
	ra.refused("E_RA_FORBIDDEN", "officer", "suspend", "--id", "admin")
	if r := sro.must("officer", "suspend", "--id", "srp1-aro"); !strings.Contains(r.stdout, "officer srp1-aro suspended") {
		t.Fatalf("suspend: %q", r.stdout)
	}
	aro.refused("E_RA_OFFICER_INACTIVE", "user", "list")
	sro.refused("E_RA_INACTIVE", "officer", "suspend", "--id", "srp1-aro")
	if r := ra.must("officer", "list"); !strings.Contains(r.stdout, "suspended") {
		t.Fatalf("officer list does not show the suspension:\n%s", r.stdout)
	}
	if r := sro.must("officer", "reinstate", "--id", "srp1-aro"); !strings.Contains(r.stdout, "officer srp1-aro reinstated") {
		t.Fatalf("reinstate: %q", r.stdout)
	}
	aro.must("user", "list")
}
