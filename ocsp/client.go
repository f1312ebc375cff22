package ocsp

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"time"

	xocsp "golang.org/x/crypto/ocsp"
)

// Errors of Query, each a stable code.
var (
	// ErrQuery: the responder could not be reached or did not answer 200.
	ErrQuery = errors.New("E_OCSP_QUERY")
	// ErrResponse: the answer is not a usable OCSP response for the
	// question: malformed, an error status, not signed by the issuer or a
	// responder it certified, about another serial, or stale. Query fails
	// closed: such an answer never reads as a status.
	ErrResponse = errors.New("E_OCSP_RESPONSE")
)

// maxResponse bounds an OCSP response Query reads.
const maxResponse = 64 << 10

// maxClockSkew is how far in the future a response's thisUpdate may be.
const maxClockSkew = 5 * time.Minute

// Answer is a verified OCSP answer about one certificate.
type Answer struct {
	Status     string // "good", "revoked" or "unknown"
	RevokedAt  time.Time
	Reason     int // RFC 5280 CRLReason, when revoked
	ThisUpdate time.Time
	NextUpdate time.Time
	// Responder is the delegated responder certificate that signed the
	// answer (nil if the issuer signed it itself).
	Responder *x509.Certificate
}

// Query asks the responder at url (e.g. https://ra.example:8443/ocsp)
// about the certificate with serial that issuer issued, by POST (RFC
// 6960 appendix A), and returns the answer once its signature verifies
// against issuer (directly, or through a responder certificate issuer
// certified for OCSP signing) and it is current at now.
func Query(ctx context.Context, client *http.Client, url string, issuer *x509.Certificate, serial *big.Int, now time.Time) (Answer, error) {
	if client == nil {
		client = http.DefaultClient
	}
	der, err := xocsp.CreateRequest(&x509.Certificate{SerialNumber: serial}, issuer, nil)
	if err != nil {
		return Answer{}, fmt.Errorf("%w: building the request: %v", ErrQuery, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(der))
	if err != nil {
		return Answer{}, fmt.Errorf("%w: responder URL %q: want https://host:port/ocsp", ErrQuery, url)
	}
	req.Header.Set("Content-Type", "application/ocsp-request")
	resp, err := client.Do(req)
	if err != nil {
		return Answer{}, fmt.Errorf("%w: %s did not answer; check the URL and that the server is up", ErrQuery, url)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil || len(body) > maxResponse {
		return Answer{}, fmt.Errorf("%w: %s: the answer could not be read or is over %d bytes", ErrQuery, url, maxResponse)
	}
	if resp.StatusCode != http.StatusOK {
		// An OCSP error status sent with an HTTP error (smki's responder
		// answers internalError with 500 when it cannot confirm a status)
		// is said as what it is.
		var re xocsp.ResponseError
		if _, err := xocsp.ParseResponse(body, issuer); errors.As(err, &re) {
			return Answer{}, fmt.Errorf("%w: %s answered HTTP %d, OCSP %s: it could not give a status now; retry shortly", ErrQuery, url, resp.StatusCode, re.Status)
		}
		return Answer{}, fmt.Errorf("%w: %s answered HTTP %d; is it an OCSP responder?", ErrQuery, url, resp.StatusCode)
	}
	r, err := xocsp.ParseResponse(body, issuer)
	if err != nil {
		var re xocsp.ResponseError
		if errors.As(err, &re) {
			return Answer{}, fmt.Errorf("%w: the responder answered %s", ErrResponse, re.Status)
		}
		return Answer{}, fmt.Errorf("%w: the answer does not parse or is not signed for this issuer; check the issuer certificate", ErrResponse)
	}
	if r.SerialNumber == nil || r.SerialNumber.Cmp(serial) != 0 {
		return Answer{}, fmt.Errorf("%w: the answer is about another serial", ErrResponse)
	}
	if r.ThisUpdate.After(now.Add(maxClockSkew)) || (!r.NextUpdate.IsZero() && r.NextUpdate.Before(now)) {
		return Answer{}, fmt.Errorf("%w: the answer is not current (thisUpdate %s, nextUpdate %s); check this machine's clock",
			ErrResponse, r.ThisUpdate.UTC().Format(time.RFC3339), r.NextUpdate.UTC().Format(time.RFC3339))
	}
	a := Answer{ThisUpdate: r.ThisUpdate, NextUpdate: r.NextUpdate, Responder: r.Certificate}
	switch r.Status {
	case xocsp.Good:
		a.Status = "good"
	case xocsp.Revoked:
		a.Status, a.RevokedAt, a.Reason = "revoked", r.RevokedAt, r.RevocationReason
	default:
		a.Status = "unknown"
	}
	return a, nil
}
