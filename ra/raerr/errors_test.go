package raerr

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/store"
)

// TestCodeOf: codes are values. Every known sentinel is found however it
// is wrapped, an RA code wins over the store or CA code it wraps, and a
// message that only looks like a code has none.
func TestCodeOf(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, c := range codes {
		code := c.err.Error()
		if seen[code] {
			t.Errorf("code %s listed twice", code)
		}
		seen[code] = true
		if isBusy(c.err) {
			code = ErrBusy.Error() // contention always reads E_RA_BUSY
		}
		for _, err := range []error{c.err, fmt.Errorf("ctx: %w", c.err), fmt.Errorf("a: %w", fmt.Errorf("b: %w", c.err)),
			errors.Join(errors.New("other"), c.err)} {
			if got := CodeOf(err); got != code {
				t.Errorf("CodeOf(%q) = %s, want %s", err, got, code)
			}
			if got := ClassOf(err); got != c.class {
				t.Errorf("ClassOf(%q) = %d, want %d", err, got, c.class)
			}
		}
		if got := ClassOfCode(code); got != c.class {
			t.Errorf("ClassOfCode(%s) = %d, want %d", code, got, c.class)
		}
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"RA code over the store code it wraps", fmt.Errorf("%w: %w", ErrInternal, store.ErrCorrupt), "E_RA_INTERNAL"},
		{"store closed wrapped as internal (a shutdown, not a fault)", fmt.Errorf("%w: device 01: %w", ErrInternal, fmt.Errorf("bolt: %w", store.ErrClosed)), "E_STORE_CLOSED"},
		{"store closed wrapped by the CA", fmt.Errorf("%w: recording intent 01: %w", ca.ErrStore, store.ErrClosed), "E_STORE_CLOSED"},
		{"RA code over the CA code it wraps", fmt.Errorf("%w: %w", ErrCSRInvalid, ca.ErrBadCSR), "E_RA_CSR_INVALID"},
		{"store code alone", fmt.Errorf("bolt: %w", store.ErrClosed), "E_STORE_CLOSED"},
		{"contention wrapped as internal", fmt.Errorf("%w: revoking: %w", ErrInternal, fmt.Errorf("postgres: gave up: %w", store.ErrConflict)), "E_RA_BUSY"},
		{"contention wrapped by the CA", fmt.Errorf("%w: recording intent 01: %w", ca.ErrStore, store.ErrConflict), "E_RA_BUSY"},
		{"contention joined with another error", errors.Join(ErrInternal, store.ErrConflict), "E_RA_BUSY"},
		{"disk full wrapped by the CA (finding 12)", fmt.Errorf("%w: recording intent 01: %w", ca.ErrStore, &os.PathError{Op: "write", Path: "smki.db", Err: syscall.ENOSPC}), "E_STORE_FULL"},
		{"PostgreSQL disk_full wrapped as internal (finding 12)", fmt.Errorf("%w: audit: %w", ErrInternal, fmt.Errorf("postgres: %w", store.ErrFull)), "E_STORE_FULL"},
		{"quota wrapped as internal", fmt.Errorf("%w: audit: %w", ErrInternal, syscall.EDQUOT), "E_STORE_FULL"},
		{"a message that starts like a code", errors.New("E_RA_FORBIDDEN: looks like one"), "E_RA_INTERNAL"},
		{"an unknown code", errors.New("E_SOMETHING_ELSE"), "E_RA_INTERNAL"},
		{"plain error", errors.New("boom"), "E_RA_INTERNAL"},
	}
	for _, tt := range tests {
		if got := CodeOf(tt.err); got != tt.want {
			t.Errorf("%s: CodeOf = %s, want %s", tt.name, got, tt.want)
		}
	}
	if ClassOf(fmt.Errorf("%w: %w", ErrInternal, store.ErrConflict)) != ClassBusy || ClassOfCode("E_RA_BUSY") != ClassBusy {
		t.Error("contention must be ClassBusy however it is wrapped")
	}
	if ClassOfCode("E_NOT_A_CODE") != ClassInternal || ClassOf(errors.New("E_RA_FORBIDDEN")) != ClassInternal {
		t.Error("an unknown code or a look-alike message must be ClassInternal")
	}
}

// TestFromStoreExistsSaysResend: E_RA_EXISTS, what a create sent again
// after its answer was lost meets, says the first request may have made
// it before suggesting another ID (a party's or user's EUI-64 is the one
// DCC assigned: there is no other to choose).
func TestFromStoreExistsSaysResend(t *testing.T) {
	t.Parallel()
	err := FromStore("user 90-B3-D5-1F-30-05-00-00", store.ErrExists)
	if !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "sent this again after its answer was lost") {
		t.Errorf("got %v, want E_RA_EXISTS saying a resent request meets it", err)
	}
}
