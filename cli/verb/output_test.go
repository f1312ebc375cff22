package verb

import (
	"bytes"
	"testing"

	ucli "github.com/urfave/cli/v2"
)

// TestOneEachRows: a Call's prints lay out one answer as one row and a
// list as one row per element, under the header, aligned; an empty list
// is the header alone.
func TestOneEachRows(t *testing.T) {
	t.Parallel()
	type pair struct{ k, v string }
	row := func(p pair) []string { return []string{p.k, p.v} }
	run := func(action func(*ucli.Context) error) string {
		var out bytes.Buffer
		app := &ucli.App{Writer: &out, Commands: []*ucli.Command{{Name: "x", Action: action}}}
		if err := app.Run([]string{"smki", "x"}); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	for _, tc := range []struct {
		name   string
		action func(*ucli.Context) error
		want   string
	}{
		{"one", func(c *ucli.Context) error { return One(c, "K\tV", row)(pair{"a", "1"}) }, "K  V\na  1\n"},
		{"each", func(c *ucli.Context) error {
			return Each(c, "KEY\tV", row)([]pair{{"a", "1"}, {"bbbbbb", "2"}})
		}, "KEY     V\na       1\nbbbbbb  2\n"},
		{"each of none", func(c *ucli.Context) error { return Each(c, "K\tV", row)(nil) }, "K  V\n"},
	} {
		if got := run(tc.action); got != tc.want {
			t.Errorf("%s: printed %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := Rows([]int{1, 2}, func(i int) []string { return []string{string(rune('0' + i))} }); len(got) != 2 || got[1][0] != "2" {
		t.Errorf("Rows = %v", got)
	}
}
