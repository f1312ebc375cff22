package publish

import (
	"testing"
	"time"

	"github.com/smki/smki/bundle"
)

// TestBundleETag: an ETag is ours only in the one form SignedBundle
// writes; the content hash ignores issued_at and audit_head and nothing
// else.
func TestBundleETag(t *testing.T) {
	t.Parallel()
	content := "0123456789abcdef0123456789abcdef"
	for _, tt := range []struct {
		in   string
		ok   bool
		unix int64
	}{
		{`"` + content + `-1700000000"`, true, 1700000000},
		{`W/"` + content + `-1700000000"`, true, 1700000000},
		{` "` + content + `-5" `, true, 5},
		{content + `-1700000000`, false, 0},                    // unquoted
		{`"` + content[1:] + `-1700000000"`, false, 0},         // short content
		{`"` + content + `-x"`, false, 0},                      // time not a number
		{`"` + content + `-1", "` + content + `-2"`, false, 0}, // a list
		{`*`, false, 0},
	} {
		got, issued, ok := parseBundleETag(tt.in)
		if ok != tt.ok || (ok && (got != content || issued.Unix() != tt.unix)) {
			t.Errorf("parseBundleETag(%q) = %q, %v, %v", tt.in, got, issued, ok)
		}
	}
	b := &bundle.Bundle{Version: bundle.Version, IssuedAt: time.Unix(1, 0), MaxAge: bundle.Duration(time.Hour)}
	h1, err := bundleContentHash(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := *b
	c.IssuedAt, c.AuditHead = time.Unix(2, 0), &bundle.AuditHead{Seq: 7, Hash: "00"}
	if h2, _ := bundleContentHash(&c, nil); h2 != h1 {
		t.Errorf("issued_at and audit_head changed the content hash: %s, %s", h1, h2)
	}
	c.RevocationSeq = 1
	h3, _ := bundleContentHash(&c, nil)
	if h3 == h1 {
		t.Error("a new revocation_seq left the content hash unchanged")
	}
	c.Revoked = []bundle.RevokedCert{{Issuer: "CN=Z1", Serial: "0a", RevokedAt: time.Unix(3, 0), Reason: 1}}
	h4, _ := bundleContentHash(&c, nil)
	if h4 == h3 {
		t.Error("a revoked entry left the content hash unchanged")
	}
	digest, err := revokedDigest(c.Revoked)
	if err != nil {
		t.Fatal(err)
	}
	if h5, _ := bundleContentHash(&c, digest); h5 != h4 {
		t.Errorf("the hash with the revoked section's digest given is %s, computed %s", h5, h4)
	}
	c.Revoked[0].Reason = 4
	if h6, _ := bundleContentHash(&c, nil); h6 == h4 {
		t.Error("a revoked entry's reason left the content hash unchanged")
	}
}
