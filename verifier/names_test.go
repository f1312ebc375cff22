package verifier

import "testing"

func TestDNKey(t *testing.T) {
	t.Parallel()
	same := []string{"CN=Z1,OU=07", "CN=Z1, OU=07", "OU=07,CN=Z1", "cn=z1 , ou=07", "2.5.4.3=Z1,2.5.4.11=07", "CN=Z1;OU=07"}
	want, err := dnKeyFromString(same[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range same[1:] {
		got, err := dnKeyFromString(s)
		if err != nil || got != want {
			t.Errorf("dnKey(%q) = %q, %v; want %q", s, got, err, want)
		}
	}
	for _, s := range []string{"CN=Z2,OU=07", "CN=Z1", "CN=Z1,OU=07,O=x"} {
		if got, _ := dnKeyFromString(s); got == want {
			t.Errorf("dnKey(%q) collides with %q", s, same[0])
		}
	}
	// Escaped separators are part of the value (cases from xmldsig's
	// NormalizeIssuerName, which dnKey replaced).
	if a, b := mustDNKey(t, `CN=a\, b,OU=07`), mustDNKey(t, `CN=a\, b, OU=07`); a != b {
		t.Errorf("escaped comma: %q vs %q", a, b)
	}
	if mustDNKey(t, `CN=a\,OU=07`) == mustDNKey(t, "CN=a,OU=07") {
		t.Error(`CN=a\,OU=07 (one attribute) and CN=a,OU=07 normalised equal`)
	}
	for _, s := range []string{"", "CN", "CN=Z1,OU"} {
		if _, err := dnKeyFromString(s); err == nil {
			t.Errorf("dnKey(%q) accepted", s)
		}
	}
}

func mustDNKey(t *testing.T, s string) string {
	t.Helper()
	k, err := dnKeyFromString(s)
	if err != nil {
		t.Fatalf("dnKey(%q): %v", s, err)
	}
	return k
}
