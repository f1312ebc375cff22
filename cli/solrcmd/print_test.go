package solrcmd

import (
	"bytes"
	"strings"
	"testing"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/ra/records"
)

// TestPrintEventSaysWhereTheRevocationIs: an approved event's print says
// where the failed Supplier's revocation stands. The approval usually
// answers with the event active and "revoked N"; when its revocation step
// was left to the scheduler (another RA instance holds the scheduler's
// lock, or the step failed and is retried) the answer is the event
// approved with its job, and staff must read that the certificates are
// not revoked yet and how to see when they are, not an approval that
// looks complete. A revocation scheduled later says when.
func TestPrintEventSaysWhereTheRevocationIs(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC().Truncate(time.Second)
	past, later := now.Add(-time.Second), now.Add(time.Hour)
	base := ra.SoLREvent{ID: "solr-20261207T170330Z-3ca5d830915c", Instruction: "OFGEM-1", Start: past, DeclaredBy: "liaison"}
	approved := base
	approved.State, approved.ApprovedBy, approved.ApprovedAt, approved.RevokeAt, approved.JobID = bundle.EventApproved, "approver", &past, &past, "job-x"
	scheduled := approved
	scheduled.RevokeAt = &later
	active := approved
	active.State, active.RevokedAt, active.RevokedSummary = bundle.EventActive, &past, records.SummariseRevoked([]string{"0a", "0b"})
	for _, tc := range []struct {
		name      string
		e         ra.SoLREvent
		want, not []string
	}{
		{"left to the scheduler", approved, []string{"not revoked yet", "job-x", "smki solr show " + base.ID}, []string{"revoked 2"}},
		{"scheduled later", scheduled, []string{"scheduled for " + later.Format(time.RFC3339), "job-x"}, []string{"not revoked yet"}},
		{"revoked", active, []string{"revoked 2 certificate(s)"}, []string{"not revoked yet", "scheduled for"}},
	} {
		// Sequential: urfave/cli's package-level help flag (8cce53b).
		var out bytes.Buffer
		app := &ucli.App{Writer: &out, Commands: []*ucli.Command{{Name: "x",
			Action: func(c *ucli.Context) error { return printEvent(c)(ra.EventResult{Event: tc.e}) }}}}
		if err := app.Run([]string{"smki", "x"}); err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%s: output lacks %q:\n%s", tc.name, w, out.String())
			}
		}
		for _, w := range tc.not {
			if strings.Contains(out.String(), w) {
				t.Errorf("%s: output has %q:\n%s", tc.name, w, out.String())
			}
		}
	}
}
