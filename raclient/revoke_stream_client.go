package raclient

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/smki/smki/ra/raapi"
	"github.com/smki/smki/ra/raerr"
)

// RevokeWithProgress is Revoke that asks for progress (Accept:
// application/x-ndjson, see answerRevoke): progress, if not nil, is
// called with done of total serials marked as the server reports them,
// on the calling goroutine. It returns what Revoke would: the result, or
// the coded error (*APIError) with the status the plain answer would
// have had.
//
// Unlike the other calls' overall timeout, the client's timeout bounds the
// wait for each line here, so a long revocation that keeps reporting is not
// cut off; and the answer may be larger (maxRevokeAnswer). A stream that
// breaks before its final line is an E_RA_INTERNAL error saying the outcome
// is unknown: the revocation may have committed.
//
// An E_RA_BUSY answer (plain or as the stream's final line: the revocation
// was rolled back) is retried as SetBusyRetry says; progress then starts
// again from 0.
func (c *Client) RevokeWithProgress(ctx context.Context, req raapi.RevokeRequest, progress func(done, total int)) (raapi.RevokeResult, error) {
	var res raapi.RevokeResult
	err := c.retryBusy(ctx, func() error {
		var err error
		res, err = c.revokeOnce(ctx, req, progress)
		return err
	})
	return res, err
}

func (c *Client) revokeOnce(ctx context.Context, req raapi.RevokeRequest, progress func(done, total int)) (raapi.RevokeResult, error) {
	body, err := json.Marshal(revokeBodyOf(req))
	if err != nil {
		return raapi.RevokeResult{}, fmt.Errorf("%w: %v", raerr.ErrBadRequest, err)
	}
	ctx, touch, stop := c.idleBound(ctx, func(idle time.Duration) error {
		return fmt.Errorf("%w: %w for %s", raerr.ErrInternal, errIdle, idle)
	})
	defer stop()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/v1/revoke", bytes.NewReader(body))
	if err != nil {
		return raapi.RevokeResult{}, fmt.Errorf("%w: %v", raerr.ErrBadRequest, err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	// The server answers plain JSON whenever there is no progress to show
	// (errors before the revocation starts, dry runs), so both are accepted.
	hreq.Header.Set("Accept", raapi.MediaNDJSON+", application/json;q=0.5")
	hc := *c.hc
	hc.Timeout = 0 // the idle timer above bounds the wait instead
	resp, err := hc.Do(hreq)
	if err != nil {
		if cause := causeOr(ctx, err); cause != err {
			return raapi.RevokeResult{}, cause
		}
		if refused := handshakeRefusal(err, c.tls); refused != err {
			return raapi.RevokeResult{}, refused
		}
		// As every other call: E_RA_UNREACHABLE in smki's words, saying
		// that it may have been carried out.
		return raapi.RevokeResult{}, unreachable(http.MethodPost, c.base, err)
	}
	defer resp.Body.Close()
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); resp.StatusCode >= 300 || mt != raapi.MediaNDJSON {
		data, err := io.ReadAll(io.LimitReader(resp.Body, maxRevokeAnswer))
		if err != nil {
			if cause := causeOr(ctx, err); cause != err {
				return raapi.RevokeResult{}, cause
			}
			return raapi.RevokeResult{}, unreachable(http.MethodPost, c.base, err)
		}
		if resp.StatusCode >= 300 {
			return raapi.RevokeResult{}, withRetryAfter(apiError(resp.StatusCode, data), resp.Header)
		}
		var out raapi.RevokeResult
		if err := json.Unmarshal(data, &out); err != nil {
			return raapi.RevokeResult{}, fmt.Errorf("%w: response: %v", raerr.ErrInternal, err)
		}
		return out, nil
	}
	res, err := readRevokeStream(resp.Body, maxRevokeAnswer, func(p raapi.RevokeProgress) {
		touch()
		if progress != nil {
			progress(p.Done, p.Total)
		}
	})
	if err != nil {
		var ae *APIError
		if !errors.As(err, &ae) {
			err = outcomeUnknown(causeOr(ctx, err))
		}
		return raapi.RevokeResult{}, err
	}
	return res, nil
}

// errIdle: the RA sent nothing for the client's timeout (idleBound).
var errIdle = errors.New("no answer from the RA")

// outcomeUnknownError is a revocation stream that broke off before its
// final line: E_RA_INTERNAL, its text smki's own sentence (no transport or
// JSON text reaches a user), unwrapping to the cause for callers.
type outcomeUnknownError struct {
	msg string
	err error
}

func (e *outcomeUnknownError) Error() string   { return e.msg }
func (e *outcomeUnknownError) Unwrap() []error { return []error{raerr.ErrInternal, e.err} }

// outcomeUnknown is the error of a revocation stream broken off by err.
// The revocation is one transaction: it committed whole or not at all,
// and the same request sent again revokes only what is still good.
func outcomeUnknown(err error) error {
	reason, _ := transportReason(err, time.Now()) // an answer had begun: the request was sent
	why := "its answer broke off (the RA restarted, or the connection dropped): " + reason
	switch {
	case errors.Is(err, errIdle):
		why = "its answer stopped: " + err.Error() // the idle timer's, in smki's words
	case errors.Is(err, errStreamTruncated), errors.Is(err, io.ErrUnexpectedEOF):
		why = "its answer broke off before the final line (the RA restarted, or the connection dropped)"
	case errors.Is(err, errStreamLine):
		why = "its answer held a line this client does not understand"
	}
	return &outcomeUnknownError{err: err, msg: fmt.Sprintf("%v: the revocation's outcome is unknown: %s. It commits whole or not "+
		"at all: list the certificates to see which (smki certs --party P --status good, or --user U), or send the same "+
		"revocation again, which revokes only what is still good", raerr.ErrInternal, why)}
}

// idleBound bounds a streamed answer by c's timeout between signs of
// progress rather than overall: the context it returns is cancelled, with
// cause(timeout) as its cause, once the timeout passes without touch being
// called. stop releases it. Without a timeout only ctx bounds the wait.
func (c *Client) idleBound(ctx context.Context, cause func(time.Duration) error) (_ context.Context, touch, stop func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	idle := c.hc.Timeout
	if idle <= 0 {
		return ctx, func() {}, func() { cancel(nil) }
	}
	t := time.AfterFunc(idle, func() { cancel(cause(idle)) })
	return ctx, func() { t.Reset(idle) }, func() { t.Stop(); cancel(nil) }
}

// causeOr returns why ctx was cancelled if it was (the idle timer says
// so better than "context canceled"), else err.
func causeOr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, ctx.Err()) {
			return cause
		}
	}
	return err
}

// maxRevokeAnswer bounds a revocation answer's final line (and a plain
// answer). It is larger than other answers' maxResponse because an RA
// before issue 20 listed every certificate and revocation of a bulk
// revocation (about 350 bytes each, some 35 MB for a party of 100,000
// certificates); today's answer is a summary of a few kilobytes.
const maxRevokeAnswer = 256 << 20

// errStreamLine: a line of the stream is not one this client reads.
var errStreamLine = errors.New("revocation stream: a line not understood")

// errStreamTruncated: the stream ended without its result or error line.
var errStreamTruncated = fmt.Errorf("revocation stream ended without a final line: %w", io.ErrUnexpectedEOF)

// readRevokeStream reads a raapi.MediaNDJSON answer: it reports each progress
// line and returns at the first result or error line. A line longer than
// maxLine, a line that is not JSON, and the end of the stream before a
// final line are errors. Lines with no known member are skipped, so that
// the server may add kinds of line.
func readRevokeStream(r io.Reader, maxLine int, progress func(raapi.RevokeProgress)) (raapi.RevokeResult, error) {
	sc := bufio.NewScanner(r)
	// The initial buffer's capacity counts as a limit too (bufio.Scanner).
	sc.Buffer(make([]byte, 0, min(4<<10, maxLine)), maxLine)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var l raapi.RevokeLine
		if err := json.Unmarshal(line, &l); err != nil {
			return raapi.RevokeResult{}, fmt.Errorf("%w: %.100q: %w", errStreamLine, line, err)
		}
		switch {
		case l.Result != nil:
			return *l.Result, nil
		case l.Error != nil:
			if l.Error.Code == "" {
				return raapi.RevokeResult{}, fmt.Errorf("%w: error line without a code: %.200s", errStreamLine, line)
			}
			return raapi.RevokeResult{}, &APIError{Status: raapi.StatusOfCode(l.Error.Code), Code: l.Error.Code, Message: l.Error.Message}
		case l.Progress != nil:
			progress(*l.Progress)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return raapi.RevokeResult{}, fmt.Errorf("%w: a line over %d bytes: %w", errStreamLine, maxLine, err)
		}
		return raapi.RevokeResult{}, err
	}
	return raapi.RevokeResult{}, errStreamTruncated
}
