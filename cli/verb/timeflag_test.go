package verb

import (
	"strings"
	"testing"
	"time"

	ucli "github.com/urfave/cli/v2"
)

// TestTimeFlag: an RFC 3339 time in any zone is read as that instant; a
// time without a zone, a date alone or anything else is a usage error
// that names the flag and shows the form, in smki's words, never Go's
// layout string.
func TestTimeFlag(t *testing.T) {
	t.Parallel()
	want := time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"2026-12-08T09:00:00Z", true},
		{"2026-12-08T10:00:00+01:00", true},
		{"2026-12-08T04:00:00-05:00", true},
		{"2026-12-08T10:00:00", false},
		{"2026-12-08", false},
		{"tomorrow", false},
	} {
		var got *time.Time
		var err error
		app := &ucli.App{Commands: []*ucli.Command{{Name: "x", Flags: []ucli.Flag{&ucli.StringFlag{Name: "end"}},
			Action: func(c *ucli.Context) error { got, err = TimeFlag(c, "end"); return nil }}}}
		if rerr := runApp(app, "smki", "x", "--end", tc.in); rerr != nil {
			t.Fatal(rerr)
		}
		switch {
		case tc.ok && (err != nil || got == nil || !got.Equal(want)):
			t.Errorf("--end %s: %v %v, want %s", tc.in, got, err, want)
		case !tc.ok && err == nil:
			t.Errorf("--end %s: accepted as %v", tc.in, got)
		case !tc.ok && (ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), "--end") ||
			!strings.Contains(err.Error(), "2026-03-15T00:00:00Z") || strings.Contains(err.Error(), "parsing time") ||
			strings.Contains(err.Error(), "Z07:00")):
			t.Errorf("--end %s: %q (exit %d), want a usage error naming --end with an example and no Go layout text", tc.in, err, ExitCode(err))
		}
	}
}
