package bolt_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/smki/smki/store/bolt"
	"github.com/smki/smki/store/storetest"
)

// TestSealFailureSeen: when the journal cannot be sealed (here its
// rotation cannot make the fresh file: a directory holds its name) the
// operator sees it in the log, the failure count and the backlog
// (storetest.SealFailureSeen). Before, the sealer dropped the error.
func TestSealFailureSeen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "smki.db")
	var logs storetest.LogBuffer
	s, err := bolt.Open(path, bolt.WithSealDelay(5*time.Millisecond), bolt.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.SealFailureSeen(t, s, "bbolt", &logs,
		func() {
			if err := os.Mkdir(path+".audit.new", 0o700); err != nil {
				t.Fatal(err)
			}
		},
		func() {
			if err := os.Remove(path + ".audit.new"); err != nil {
				t.Fatal(err)
			}
		})
}
