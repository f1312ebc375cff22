package postgres

import (
	"errors"
	"fmt"
	"testing"

	"github.com/smki/smki/store"
)

// TestFinding12PostgresDiskFull is issue 12's finding 12 on PostgreSQL: a
// full disk on the database server (SQLSTATE 53100 disk_full) is
// store.ErrFull, which the RA answers 503 E_STORE_FULL as on bbolt; the
// rest of class 53 is not a full disk.
func TestFinding12PostgresDiskFull(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		full bool
	}{
		{"nil", nil, false},
		{"disk_full", pgErr("53100"), true},
		{"disk_full wrapped by a statement", fmt.Errorf("postgres: put certificate: %w", pgErr("53100")), true},
		{"disk_full at commit, joined", errors.Join(errors.New("commit"), pgErr("53100")), true},
		{"out_of_memory", pgErr("53200"), false},
		{"too_many_connections", pgErr("53300"), false},
		{"serialization failure", pgErr("40001"), false},
		{"not a database error", errors.New("boom"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := diskFull(tt.err)
			if full := errors.Is(got, store.ErrFull); full != tt.full {
				t.Fatalf("diskFull(%v) = %v: full %v, want %v", tt.err, got, full, tt.full)
			}
			if tt.err != nil && !errors.Is(got, tt.err) {
				t.Fatalf("diskFull(%v) lost the cause: %v", tt.err, got)
			}
			if again := diskFull(got); tt.full && again.Error() != got.Error() {
				t.Fatalf("marked twice: %v", again)
			}
		})
	}
}
