package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestFrom(t *testing.T) {
	t.Parallel()
	vcs := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.time", Value: "2026-12-05T09:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	tests := []struct {
		name    string
		bi      *debug.BuildInfo
		stamped string
		want    Info
		line    string
	}{
		{"no build info", nil, "", Info{Version: "devel", Revision: "unknown"}, "smki devel (revision unknown)"},
		{"stamped wins", vcs, "v1.4.0-3-g0123abc\n", Info{Version: "v1.4.0-3-g0123abc", Revision: "0123abcd", Time: "2026-12-05T09:00:00Z", Modified: true, GoVersion: "go1.26.0"},
			"smki v1.4.0-3-g0123abc (revision 0123abcd+dirty, 2026-12-05T09:00:00Z, go1.26.0)"},
		{"devel module", vcs, "", Info{Version: "devel", Revision: "0123abcd", Time: "2026-12-05T09:00:00Z", Modified: true, GoVersion: "go1.26.0"},
			"smki devel (revision 0123abcd+dirty, 2026-12-05T09:00:00Z, go1.26.0)"},
		{"module version", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v1.5.0"}}, "",
			Info{Version: "v1.5.0", Revision: "unknown", GoVersion: "go1.26.0"}, "smki v1.5.0 (revision unknown, go1.26.0)"},
	}
	for _, tt := range tests {
		got := from(tt.bi, tt.stamped)
		if got != tt.want || got.String() != tt.line {
			t.Errorf("%s: %+v %q, want %+v %q", tt.name, got, got.String(), tt.want, tt.line)
		}
	}
}
