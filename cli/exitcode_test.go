package cli

import (
	"errors"
	"fmt"
	"testing"

	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/ra"
	"github.com/smki/smki/raclient"
)

// TestExitCode is the exit-code contract (docs: DESIGN.md section 5) as
// one table over exitCode, the only place an error becomes a code.
func TestExitCode(t *testing.T) {
	t.Parallel()
	refusal := &raclient.APIError{Status: 403, Code: "E_RA_FORBIDDEN", Message: "E_RA_FORBIDDEN: not yours"}
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"success", nil, ExitOK},
		{"plain failure", errors.New("boom"), ExitError},
		{"usage", usageErr("--x: bad"), ExitUsage},
		{"I/O", withCode(ExitUsage, errors.New("open x: no such file")), ExitUsage},
		{"verifier reject", withCode(ExitReject, errors.New("rejected: E_X")), ExitReject},
		{"wrapped code", fmt.Errorf("context: %w", withCode(ExitReject, errors.New("r"))), ExitReject},
		{"RA refusal", apiErr(refusal), ExitReject},
		{"RA failure", apiErr(&raclient.APIError{Status: 503, Code: "E_RA_INTERNAL", Message: "E_RA_INTERNAL: try later"}), ExitError},
		{"urfave exit", ucli.Exit("x", 2), 2},
	} {
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("%s: exitCode = %d, want %d", tc.name, got, tc.want)
		}
	}
}

// TestAPIErr: an RA refusal prints "E_CODE: message" once, and still
// matches its sentinel.
func TestAPIErr(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   *raclient.APIError
		want string
	}{
		{&raclient.APIError{Code: "E_RA_FORBIDDEN", Message: "E_RA_FORBIDDEN: not yours"}, "E_RA_FORBIDDEN: not yours"},
		{&raclient.APIError{Code: "E_RA_FORBIDDEN", Message: "not yours"}, "E_RA_FORBIDDEN: not yours"},
	} {
		err := apiErr(fmt.Errorf("call: %w", tc.in))
		if err.Error() != tc.want {
			t.Errorf("apiErr = %q, want %q", err, tc.want)
		}
		if !errors.Is(err, ra.ErrForbidden) {
			t.Errorf("apiErr(%v) no longer matches ra.ErrForbidden", tc.in)
		}
	}
	if plain := errors.New("x"); apiErr(plain) != plain {
		t.Error("apiErr changed a non-RA error")
	}
}
