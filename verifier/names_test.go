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
	for _, s := range []string{"", "CN", "CN=Z1,OU"} {
		if _, err := dnKeyFromString(s); err == nil {
			t.Errorf("dnKey(%q) accepted", s)
		}
	}
}
