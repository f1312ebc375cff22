// Package buildinfo says which smki this is: the version stamped at build
// time (make build and make dist stamp `git describe`), the VCS revision and
// commit time and the Go version the binary was built with (from the Go
// build info). `smki version`, /healthz and the smki_build_info metric all
// read it here, so they never disagree.
package buildinfo

import (
	"runtime/debug"
	"strings"
)

// Stamped at build time by make build / make dist with -ldflags
// "-X github.com/smki/smki/internal/buildinfo.version=...", and likewise
// revision and commitTime, so a build where Go records no VCS data
// (GOFLAGS=-buildvcs=false, a source tarball) still says what it is. A
// stamped value wins over the Go build info.
var version, revision, commitTime string

// Info describes the running binary.
type Info struct {
	Version   string `json:"version"`            // stamped version, else the module version, else "devel"
	Revision  string `json:"revision"`           // VCS commit, "unknown" when built without VCS data
	Time      string `json:"time,omitempty"`     // VCS commit time (RFC 3339)
	Modified  bool   `json:"modified,omitempty"` // built from a work tree with uncommitted changes
	GoVersion string `json:"go_version"`         // toolchain that built the binary
}

// Read returns the running binary's Info.
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	in := from(bi, version)
	if revision != "" {
		in.Revision, in.Modified = revision, false
	}
	if commitTime != "" {
		in.Time = commitTime
	}
	return in
}

// from builds Info from Go build info and a stamped version.
func from(bi *debug.BuildInfo, stamped string) Info {
	in := Info{Version: strings.TrimSpace(stamped), Revision: "unknown"}
	if bi == nil {
		if in.Version == "" {
			in.Version = "devel"
		}
		return in
	}
	in.GoVersion = bi.GoVersion
	if in.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		in.Version = bi.Main.Version
	}
	if in.Version == "" {
		in.Version = "devel"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			in.Revision = s.Value
		case "vcs.time":
			in.Time = s.Value
		case "vcs.modified":
			in.Modified = s.Value == "true"
		}
	}
	return in
}

// String is the one-line form: "smki VERSION (revision REV[+dirty], TIME, GO)".
func (in Info) String() string {
	rev := in.Revision
	if in.Modified {
		rev += "+dirty"
	}
	s := "smki " + in.Version + " (revision " + rev
	if in.Time != "" {
		s += ", " + in.Time
	}
	if in.GoVersion != "" {
		s += ", " + in.GoVersion
	}
	return s + ")"
}
