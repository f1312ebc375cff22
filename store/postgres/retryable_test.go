package postgres

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestRetryable: contention (serialisation failures, deadlocks, the lock
// tables full) and a connection lost before commit are rerun; other
// errors, including the rest of class 53, are not.
func TestRetryable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"serialization_failure", pgErr("40001"), true},
		{"deadlock_detected", pgErr("40P01"), true},
		{"out of shared memory (lock tables full)", pgErr("53200"), true},
		{"wrapped by a statement", fmt.Errorf("postgres: issuance seq: %w", pgErr("53200")), true},
		{"lost before commit", fmt.Errorf("%w: begin", errLost), true},
		{"disk_full", pgErr("53100"), false},
		{"too_many_connections", pgErr("53300"), false},
		{"unique_violation", pgErr("23505"), false},
		{"not a database error", errors.New("boom"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := retryable(tt.err); got != tt.want {
				t.Fatalf("retryable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

// pgErr is a server error with SQLSTATE code.
func pgErr(code string) error { return &pgconn.PgError{Severity: "ERROR", Code: code, Message: "m"} }
