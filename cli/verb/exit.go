package verb

import (
	"errors"
	"fmt"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/ra"
	"github.com/smki/smki/raclient"
)

// Exit codes (contract, docs/cli.md "Exit codes").
const (
	ExitOK     = 0
	ExitError  = 1 // the operation failed (once under way, a write too)
	ExitUsage  = 2 // usage error, or a file a flag names cannot be read or created
	ExitReject = 3 // refused by policy: a verifier reject or an RA E_* refusal
)

// ExitCodeDoc is the exit-code table of docs/cli.md; ExitCode is the one
// place an error becomes one of these numbers.
const ExitCodeDoc = `
# EXIT CODES

| code | meaning |
|---|---|
| 0 | done (smki verify: accept) |
| 1 | failed: server unreachable, an RA answer in the 5xx family, an internal error, a write cut short once under way (a key or store backup on a full disk, removed again), or what the RA issued could not be saved (E_CREDENTIAL_UNSAVED; an enrolled certificate --out could not take: smki cert get fetches it); E_RA_BUSY (503: contention, nothing changed) only once smki has retried it 5 times with growing waits, saying so on stderr |
| 2 | usage: unknown verb or flag, missing required flag, bad flag value (E_USAGE, with where to find the flags on stderr), or a file a flag names that cannot be read or created (not there, a directory, already there where smki never replaces one, no permission; an --out is checked before anything is sent); smki verify: usage or I/O error |
| 3 | refused by policy: an E_* refusal from the RA (4xx family), or a verifier reject |
`

// ErrUsage: the command line is not one smki takes (a required flag
// missing, a flag the verb does not have, or without its value or with a
// bad one, a verb or subcommand that does not exist); exit 2.
var ErrUsage = errors.New("E_USAGE")

// exitError carries an exit code through urfave/cli.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// UsageErr is a usage error (exit 2) with the message format gives.
func UsageErr(format string, a ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, a...)}
}

// WithCode makes err exit with code; nil stays nil.
func WithCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

// ExitCode is the one mapping from an error to the process exit code (the
// contract in ExitCodeDoc): the code a verb attached (WithCode, UsageErr:
// usage and I/O errors, the verifier's reject), a urfave/cli exit code,
// for an RA refusal the class of its E_* code (ra.ClassOfCode: a refusal
// exits 3; an internal, unavailable or busy RA exits 1), and ExitError for
// everything else.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var ec ucli.ExitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	var ae *raclient.APIError
	if errors.As(err, &ae) {
		return refusalExit(ae)
	}
	return ExitError
}

// refusalExit is the exit code of an RA answer, from its code: the
// refusals (who may not, what is malformed, not found, in conflict, too
// large) exit 3; the RA's own faults exit 1. A code this client does not
// know is judged by the answer's status family instead (4xx: refused).
func refusalExit(ae *raclient.APIError) int {
	switch ra.ClassOfCode(ae.Code) {
	case ra.ClassUnauthenticated, ra.ClassForbidden, ra.ClassInvalid, ra.ClassNotFound, ra.ClassConflict, ra.ClassTooLarge:
		return ExitReject
	case ra.ClassUnavailable, ra.ClassBusy:
		return ExitError
	}
	if ae.Code != ra.ErrInternal.Error() && ae.Status >= 400 && ae.Status < 500 {
		return ExitReject
	}
	return ExitError
}

// raRefusal is an RA refusal as the CLI prints it: "E_CODE: message". It
// unwraps to the *raclient.APIError, so ExitCode and errors.Is still see
// the code.
type raRefusal struct{ *raclient.APIError }

func (r raRefusal) Error() string {
	if strings.HasPrefix(r.Message, r.Code) {
		return r.Message
	}
	return r.Code + ": " + r.Message
}

func (r raRefusal) Unwrap() error { return r.APIError }

// APIErr turns an RA refusal into "E_CODE: message"; other errors pass.
func APIErr(err error) error {
	var ae *raclient.APIError
	if errors.As(err, &ae) {
		return raRefusal{ae}
	}
	return err
}
