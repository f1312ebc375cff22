package verifier

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestDecisionLog: at INFO, every decision is one line an operator can
// route by: an accept with the RequestID, the Service Reference Variant,
// the user's role and the route (and the ADT warnings when there are
// some), a reject with its code and reason; never the request's payload.
func TestDecisionLog(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	var buf bytes.Buffer
	v := s.verifier(t, func(o *Options) { o.Logger = slog.New(slog.NewJSONHandler(&buf, nil)) })
	credit := func(ctr uint64) []byte { return sign(t, request(t, tmplCredit, userSC, devA1, ctr), s.sc, false) }
	at := testNow.Add(time.Minute)
	mustAccept(t, v, credit(7))
	if d := v.Verify(credit(7), at); d.Code != CodeREPLAY {
		t.Fatalf("again: %+v, want REPLAY", d)
	}
	mustAccept(t, v, credit(8))
	mustAccept(t, v, credit(9))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines, want one per decision (4):\n%s", len(lines), buf.String())
	}
	for i, l := range lines {
		if strings.Contains(l, "<") || strings.Contains(l, "Credit") {
			t.Errorf("line %d holds the request's payload: %s", i, l)
		}
	}
	var acc, rej, warned map[string]any
	for _, p := range []struct {
		line string
		into *map[string]any
	}{{lines[0], &acc}, {lines[1], &rej}, {lines[3], &warned}} {
		if err := json.Unmarshal([]byte(p.line), p.into); err != nil {
			t.Fatalf("%s: %v", p.line, err)
		}
	}
	want := map[string]any{
		"level": "INFO", "msg": "verify", "decision": "accept",
		"request_id": userSC.String() + ":" + devA1.String() + ":7",
		"srv":        "1.6", "role": "SC", "route": devA1.String(),
	}
	for k, w := range want {
		if acc[k] != w {
			t.Errorf("accept line %s = %v, want %v (%s)", k, acc[k], w, lines[0])
		}
	}
	if _, ok := acc["warnings"]; ok {
		t.Errorf("accept without warnings logs warnings: %s", lines[0])
	}
	if rej["level"] != "INFO" || rej["decision"] != "reject" || rej["code"] != CodeREPLAY || rej["reason"] == nil {
		t.Errorf("reject line: %s", lines[1])
	}
	if warned["warnings"] == nil {
		t.Errorf("the third accept (ADT warning threshold 3) logs no warnings: %s", lines[3])
	}
}
