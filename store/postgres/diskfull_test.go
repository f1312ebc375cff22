package postgres

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/smki/smki/store"
)

// TestFinding12PostgresDiskFull is issue 12's finding 12 on PostgreSQL: a
// full disk on the database server (SQLSTATE 53100 disk_full) is
// store.ErrFull, which the RA answers 503 E_STORE_FULL as on bbolt; the
// rest of class 53 is not a full disk.
func TestFinding12PostgresDiskFull(t *testing.T) {
	t.Parallel()
	pg := func(code string) error { return &pgconn.PgError{Severity: "ERROR", Code: code, Message: "m"} }
	tests := []struct {
		name string
		err  error
		full bool
	}{
		{"nil", nil, false},
		{"disk_full", pg("53100"), true},
		{"disk_full wrapped by a statement", fmt.Errorf("postgres: put certificate: %w", pg("53100")), true},
		{"disk_full at commit, joined", errors.Join(errors.New("commit"), pg("53100")), true},
		{"out_of_memory", pg("53200"), false},
		{"too_many_connections", pg("53300"), false},
		{"serialization failure", pg("40001"), false},
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
