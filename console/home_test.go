package console

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestHomeStaleCRL: the home page lists the ORL under "needs attention"
// once it is in the last quarter of its lifetime and when it has expired
// (the CA's clock moves past it; no refresh runs here), and lists no
// fresh CRL.
func TestHomeStaleCRL(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	home := func() string {
		ck, _ := e.signIn("admin") // a clock jump ends the session
		w := e.do("GET", "/console/", nil, ck, nil, nil)
		if w.Code != http.StatusOK {
			t.Fatalf("home: %d", w.Code)
		}
		return w.Body.String()
	}
	if b := home(); strings.Contains(b, `id="stale-crls"`) {
		t.Fatal("fresh CRLs listed as needing attention")
	}
	e.clk.Advance(12 * time.Hour) // half of the ORL's 24 h: the server would reissue it
	if b := home(); strings.Contains(b, `id="stale-crls"`) {
		t.Fatal("a CRL at half its lifetime listed")
	}
	e.clk.Advance(7 * time.Hour) // 5 h left of 24
	b := home()
	if !strings.Contains(b, "The <strong>ORL</strong> expires at 2026-03-15 09:26 UTC (in 5 h)") || strings.Contains(b, "<strong>ARL</strong>") {
		t.Fatalf("ORL in its last quarter:\n%s", between(b, `id="att"`, "Waiting"))
	}
	e.clk.Advance(6 * time.Hour)
	b = home()
	if !strings.Contains(b, "The <strong>ORL</strong> expired at 2026-03-15 09:26 UTC (1 h ago): relying parties reject it") {
		t.Fatalf("expired ORL:\n%s", between(b, `id="att"`, "Waiting"))
	}
}
