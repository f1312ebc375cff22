package publish

import (
	"testing"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/eui64"
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
	h1, err := bundleContentHash(b, sectionDigests{})
	if err != nil {
		t.Fatal(err)
	}
	c := *b
	c.IssuedAt, c.AuditHead = time.Unix(2, 0), &bundle.AuditHead{Seq: 7, Hash: "00"}
	if h2, _ := bundleContentHash(&c, sectionDigests{}); h2 != h1 {
		t.Errorf("issued_at and audit_head changed the content hash: %s, %s", h1, h2)
	}
	c.RevocationSeq = 1
	h3, _ := bundleContentHash(&c, sectionDigests{})
	if h3 == h1 {
		t.Error("a new revocation_seq left the content hash unchanged")
	}
	c.Revoked = []bundle.RevokedCert{{Issuer: "CN=Z1", Serial: "0a", RevokedAt: time.Unix(3, 0), Reason: 1}}
	h4, _ := bundleContentHash(&c, sectionDigests{})
	if h4 == h3 {
		t.Error("a revoked entry left the content hash unchanged")
	}
	revoked, err := sectionDigest(c.Revoked)
	if err != nil {
		t.Fatal(err)
	}
	devices, err := sectionDigest(c.Devices)
	if err != nil {
		t.Fatal(err)
	}
	if h5, _ := bundleContentHash(&c, sectionDigests{revoked: revoked, devices: devices}); h5 != h4 {
		t.Errorf("the hash with the sections' digests given is %s, computed %s", h5, h4)
	}
	c.Revoked[0].Reason = 4
	h6, _ := bundleContentHash(&c, sectionDigests{})
	if h6 == h4 {
		t.Error("a revoked entry's reason left the content hash unchanged")
	}
	c.Devices = []bundle.Device{{Device: eui64.MustParse("00-DB-12-34-56-78-90-A0"), SMETS: 2}}
	h7, _ := bundleContentHash(&c, sectionDigests{})
	if h7 == h6 {
		t.Error("a device left the content hash unchanged")
	}
	c.Devices[0].SMETS = 1
	if h8, _ := bundleContentHash(&c, sectionDigests{}); h8 == h7 {
		t.Error("a device's SMETS version left the content hash unchanged")
	}
}
