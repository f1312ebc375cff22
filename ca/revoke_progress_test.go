package ca

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/role"
)

// TestRevokeProgress: a RevokeProgressFunc in the context sees the count
// rise in steps to the total, and a context without one changes nothing.
func TestRevokeProgress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	const n = revokeProgressStep + 44
	var serials []string
	for i := 0; i < n; i++ {
		_, csr := newCSR(t, nil)
		c, _, err := e.ca.Issue(ctx, issueReq(csr, XMLSigning, eui64.ID{0x90, 0xB3, 0xD5, 0x1F, 0x32, 0, byte(i >> 8), byte(i)}, partySRP, role.SoLRContingency))
		if err != nil {
			t.Fatal(err)
		}
		serials = append(serials, SerialHex(c.SerialNumber))
	}
	var seen [][2]int
	pctx := WithRevokeProgress(ctx, func(done, total int) { seen = append(seen, [2]int{done, total}) })
	if _, err := e.ca.Revoke(pctx, serials[:n-1], 4, time.Time{}); err != nil {
		t.Fatal(err)
	}
	want := [][2]int{{revokeProgressStep, n - 1}, {n - 1, n - 1}}
	if !slices.Equal(seen, want) {
		t.Errorf("progress %v, want %v", seen, want)
	}
	seen = nil
	if _, err := e.ca.Revoke(ctx, serials[n-1:], 4, time.Time{}); err != nil || seen != nil {
		t.Errorf("without an observer: %v, progress %v", err, seen)
	}
}
