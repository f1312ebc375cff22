package ca

import "testing"

// TestSignCheckDue: a softkms key's first signature and every
// selfCheckEvery-th after it are verified, every PKCS#11 signature is.
func TestSignCheckDue(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		all  bool
		n    int
		want int // signatures verified among the first n
	}{
		{"softkms first", false, 1, 1},
		{"softkms one period", false, selfCheckEvery, 1},
		{"softkms next period starts checked", false, selfCheckEvery + 1, 2},
		{"softkms ten periods", false, 10 * selfCheckEvery, 10},
		{"pkcs11 every one", true, 3 * selfCheckEvery, 3 * selfCheckEvery},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := signCheck{all: tc.all}
			got := 0
			for range tc.n {
				if s.due() {
					got++
				}
			}
			if got != tc.want {
				t.Fatalf("%d of %d signatures verified, want %d", got, tc.n, tc.want)
			}
		})
	}
}

// TestSelfCheckPolicyFollowsTheKMS: a CA whose keys are softkms files
// samples, any other KMS checks every signature.
func TestSelfCheckPolicyFollowsTheKMS(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if e.ca.keys.kind != kindSoft || e.ca.selfCheck.all {
		t.Fatalf("softkms CA (kind %q): selfCheck.all = %v, want false", e.ca.keys.kind, e.ca.selfCheck.all)
	}
}
