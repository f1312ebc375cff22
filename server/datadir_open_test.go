package server

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenDataDirRefusals: a data directory that cannot be made, or a dev
// passphrase file that cannot be read or written, is refused with
// ErrConfig, a message naming the path and saying why in smki's words (no
// raw library text such as "mkdir ...: not a directory"), and an existing
// passphrase is never replaced.
func TestOpenDataDirRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		setup   func(t *testing.T, root string) string // returns the data dir
		want    []string                               // in the message
		wantNot []string
	}{
		{"a file on the data directory's path", func(t *testing.T, root string) string {
			f := filepath.Join(root, "file")
			if err := os.WriteFile(f, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(f, "data")
		}, []string{"data directory", "a file is in the way"}, []string{"mkdir", "not a directory"}},
		{"the dev passphrase is a directory", func(t *testing.T, root string) string {
			data := filepath.Join(root, "data")
			if err := os.MkdirAll(filepath.Join(data, "passphrase"), 0o700); err != nil {
				t.Fatal(err)
			}
			return data
		}, []string{"passphrase", "a directory is in the way"}, []string{"open ", "is a directory"}},
		{"the dev passphrase is empty", func(t *testing.T, root string) string {
			data := filepath.Join(root, "data")
			if err := os.MkdirAll(data, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(data, "passphrase"), nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return data
		}, []string{"passphrase", "is empty"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data := tt.setup(t, t.TempDir())
			_, err := Open(context.Background(), Config{DataDir: data, Listen: "127.0.0.1:0", Dev: true})
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("Open: %v, want ErrConfig", err)
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q lacks %q", msg, w)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(msg, w) {
					t.Errorf("message %q has library text %q", msg, w)
				}
			}
		})
	}
}
