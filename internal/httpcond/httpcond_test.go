package httpcond

import "testing"

func TestNoneMatch(t *testing.T) {
	t.Parallel()
	const tag = `"abc"`
	for _, c := range []struct {
		inm  string
		want bool
	}{
		{``, false},
		{`"abc"`, true},
		{`W/"abc"`, true},
		{`"x", "abc"`, true},
		{`"x","abc" , "y"`, true},
		{`*`, true},
		{`"abcd"`, false},
		{`abc`, false},
		{`"x"`, false},
	} {
		if got := NoneMatch(c.inm, tag); got != c.want {
			t.Errorf("NoneMatch(%q, %q) = %v, want %v", c.inm, tag, got, c.want)
		}
	}
	if NoneMatch("*", "") {
		t.Error(`NoneMatch("*", "") = true: no answer, nothing to match`)
	}
}
