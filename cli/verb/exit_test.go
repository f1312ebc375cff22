package verb

import (
	"errors"
	"fmt"
	"testing"

	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/ra"
	"github.com/smki/smki/raclient"
)

// TestExitCode is the exit-code contract (docs/cli.md, "Exit codes") as
// one table over ExitCode, the only place an error becomes a code.
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
		{"usage", UsageErr("--x: bad"), ExitUsage},
		{"I/O", WithCode(ExitUsage, errors.New("open x: no such file")), ExitUsage},
		{"verifier reject", WithCode(ExitReject, errors.New("rejected: E_X")), ExitReject},
		{"wrapped code", fmt.Errorf("context: %w", WithCode(ExitReject, errors.New("r"))), ExitReject},
		{"RA refusal", APIErr(refusal), ExitReject},
		{"RA failure", APIErr(&raclient.APIError{Status: 503, Code: "E_RA_INTERNAL", Message: "E_RA_INTERNAL: try later"}), ExitError},
		// The exit code comes from the code, not from the transport.
		{"RA refusal by code alone", &raclient.APIError{Code: "E_RA_NOT_FOUND", Message: "no such serial"}, ExitReject},
		{"RA conflict", APIErr(&raclient.APIError{Status: 409, Code: "E_RA_EXISTS", Message: "exists"}), ExitReject},
		{"RA busy after retries", APIErr(&raclient.APIError{Status: 503, Code: "E_RA_BUSY", Message: "busy"}), ExitError},
		{"RA internal with a 4xx status", &raclient.APIError{Status: 400, Code: "E_RA_INTERNAL", Message: "odd"}, ExitError},
		{"a code this client does not know, 4xx", &raclient.APIError{Status: 422, Code: "E_RA_FROM_THE_FUTURE", Message: "new"}, ExitReject},
		{"a code this client does not know, 5xx", &raclient.APIError{Status: 502, Code: "E_PROXY", Message: "gateway"}, ExitError},
		{"urfave exit", ucli.Exit("x", 2), 2},
	} {
		if got := ExitCode(tc.err); got != tc.want {
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
		err := APIErr(fmt.Errorf("call: %w", tc.in))
		if err.Error() != tc.want {
			t.Errorf("apiErr = %q, want %q", err, tc.want)
		}
		if !errors.Is(err, ra.ErrForbidden) {
			t.Errorf("APIErr(%v) no longer matches ra.ErrForbidden", tc.in)
		}
	}
	if plain := errors.New("x"); APIErr(plain) != plain {
		t.Error("apiErr changed a non-RA error")
	}
}
