package server

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDataDirModeWarning: an existing data directory that group or others
// may enter or read (looser than 0700) is warned about at start, with its
// path, its mode and the chmod that fixes it; it is not changed, and the
// server still starts. A 0700 directory is not warned about.
func TestDataDirModeWarning(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mode os.FileMode
		warn bool
	}{
		{0o700, false},
		{0o750, true},
		{0o755, true},
		{0o711, true},
		{0o777, true},
	}
	for _, tt := range tests {
		t.Run(tt.mode.String(), func(t *testing.T) {
			t.Parallel()
			data := filepath.Join(t.TempDir(), "data")
			if err := os.Mkdir(data, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(data, tt.mode); err != nil { // not subject to the umask
				t.Fatal(err)
			}
			var logs syncBuffer
			s, err := Open(context.Background(), Config{DataDir: data, Listen: "127.0.0.1:0", Dev: true,
				Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			var line string
			for _, l := range strings.Split(logs.String(), "\n") {
				if strings.Contains(l, "data directory") && strings.Contains(l, "level=WARN") {
					line = l
				}
			}
			if !tt.warn {
				if line != "" {
					t.Fatalf("warned about a %v data directory: %s", tt.mode, line)
				}
				return
			}
			for _, want := range []string{"path=" + data, fmt.Sprintf("mode=%04o", uint32(tt.mode)), "chmod 700 " + data} {
				if !strings.Contains(line, want) {
					t.Errorf("warning %q lacks %q\nlog:\n%s", line, want, logs.String())
				}
			}
			if fi, err := os.Stat(data); err != nil || fi.Mode().Perm() != tt.mode {
				t.Errorf("data directory mode changed to %v, want %v left as it was", fi.Mode().Perm(), tt.mode)
			}
		})
	}
}
