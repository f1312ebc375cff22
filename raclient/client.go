package raclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/smki/smki/internal/credential"
	"github.com/smki/smki/ra/raapi"
	"github.com/smki/smki/ra/raerr"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/role"
)

// Client calls the RA's HTTP API with an officer's credential directory
// (key.pem, cert.pem, ca.pem). It trusts only ca.pem for the server.
type Client struct {
	base string
	hc   *http.Client

	busyRetries int             // SetBusyRetry
	busyNotify  func(BusyRetry) // SetBusyRetry

	// tls is the client's TLS configuration when known (NewClientTLS),
	// to tell why the RA refused the credential in the handshake.
	tls *tls.Config
}

// APIError is an error the server returned. errors.Is matches it against
// the package's sentinels by code, e.g. errors.Is(err, raerr.ErrForbidden).
type APIError struct {
	Status  int
	Code    string
	Message string
	// RetryAfter is the answer's Retry-After (E_RA_BUSY), 0 if none.
	RetryAfter time.Duration
}

func (e *APIError) Error() string { return e.Message }

// Is reports whether target is the sentinel with e's code.
func (e *APIError) Is(target error) bool { return target != nil && target.Error() == e.Code }

// NewClient returns a client for the server at baseURL (https://host:port)
// using the credential in credDir.
func NewClient(baseURL, credDir string) (*Client, error) {
	cfg, err := credential.ClientTLS(credDir)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", raerr.ErrUnauthenticated, err)
	}
	return NewClientTLS(baseURL, cfg)
}

// NewClientTLS is NewClient with a ready TLS configuration. It goes
// through the proxy the environment names for the RA's URL (HTTPS_PROXY or
// https_proxy, less the hosts NO_PROXY or no_proxy lists: Go's
// http.ProxyFromEnvironment, which never proxies localhost or a loopback
// address); the TLS session, and so the credential's mTLS, runs end to end
// through the proxy's CONNECT tunnel.
func NewClientTLS(baseURL string, cfg *tls.Config) (*Client, error) {
	c, err := NewClientHTTP(baseURL, &http.Client{Timeout: DefaultTimeout,
		Transport: &http.Transport{TLSClientConfig: cfg, Proxy: http.ProxyFromEnvironment, OnProxyConnectResponse: proxyRefusal}})
	if err == nil {
		c.tls = cfg
	}
	return c, err
}

// NewClientHTTP is NewClient over a ready HTTP client, whose transport
// must present the officer's credential and trust only the RA.
func NewClientHTTP(baseURL string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("%w: base URL %q must be https://host[:port]", raerr.ErrBadRequest, baseURL)
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), hc: hc, busyRetries: DefaultBusyRetries}, nil
}

// DefaultTimeout is how long a client made by NewClient waits for the RA
// (SetTimeout).
const DefaultTimeout = 60 * time.Second

// SetTimeout sets how long c waits for the RA: for an ordinary call, the
// whole exchange (connection, request and answer); for a streamed answer
// (RevokeWithProgress's progress, BackupStore's copy), each wait for more
// of it, so that one that keeps arriving is never cut however long it
// takes. d <= 0 leaves only the caller's context to bound the wait.
func (c *Client) SetTimeout(d time.Duration) {
	hc := *c.hc // the caller's http.Client (NewClientHTTP) is left as it was
	hc.Timeout = max(d, 0)
	c.hc = &hc
}

// HTTPClient returns the HTTP client c calls the RA with (for a request
// the Client has no method for, such as GET /metrics).
func (c *Client) HTTPClient() *http.Client { return c.hc }

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	if in == nil {
		return c.send(ctx, method, path, "", nil, out)
	}
	b, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("%w: %v", raerr.ErrBadRequest, err)
	}
	return c.send(ctx, method, path, "application/json", b, out)
}

// send makes one request (a body of mediaType, or none if mediaType is
// "") and decodes a JSON answer into out, or the coded error. An
// E_RA_BUSY answer is retried (SetBusyRetry).
func (c *Client) send(ctx context.Context, method, path, mediaType string, body []byte, out any) error {
	return c.retryBusy(ctx, func() error { return c.sendOnce(ctx, method, path, mediaType, body, out) })
}

func (c *Client) sendOnce(ctx context.Context, method, path, mediaType string, body []byte, out any) error {
	var rd io.Reader
	if mediaType != "" {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return fmt.Errorf("%w: %v", raerr.ErrBadRequest, err)
	}
	if mediaType != "" {
		req.Header.Set("Content-Type", mediaType)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if refused := handshakeRefusal(err, c.tls); refused != err {
			return refused
		}
		return unreachable(method, c.base, err)
	}
	defer resp.Body.Close()
	data, err := readAnswer(resp)
	if err != nil {
		return unreachable(method, c.base, err)
	}
	if resp.StatusCode >= 300 {
		return withRetryAfter(apiError(resp.StatusCode, data[:min(len(data), maxResponse)]), resp.Header)
	}
	if len(data) > maxResponse {
		// Never report a change that was made as failed (issue 20).
		return fmt.Errorf("%w: the server answered %d %s, so the request was carried out, but its answer exceeds the "+
			"client's %d MiB limit and was not read; see the result with the matching list or get command",
			ErrAnswerTooLarge, resp.StatusCode, http.StatusText(resp.StatusCode), maxResponse>>20)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%w: response: %v", raerr.ErrInternal, err)
		}
	}
	return nil
}

// maxResponse bounds what the client reads of one answer.
const maxResponse = 16 << 20

// readAnswer reads at most maxResponse+1 bytes of resp's body, into a
// buffer sized once by its Content-Length when the server gave one (an
// enrolment's answer is read without io.ReadAll's regrowth from 512
// bytes; issue 20). A Content-Length is only a hint for the size: the
// limit holds whatever it says.
func readAnswer(resp *http.Response) ([]byte, error) {
	var buf bytes.Buffer
	if n := resp.ContentLength; n > 0 && n <= maxResponse {
		buf.Grow(int(n) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, maxResponse+1)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ErrAnswerTooLarge: the server carried the request out (a 2xx answer)
// but the answer is larger than the client reads.
var ErrAnswerTooLarge = errors.New("E_CLIENT_ANSWER_TOO_LARGE")

// apiError decodes an error body; one that is not ours becomes E_RA_INTERNAL.
func apiError(status int, data []byte) error {
	var eb raapi.ErrorBody
	if json.Unmarshal(data, &eb) != nil || eb.Error.Code == "" {
		return &APIError{Status: status, Code: raerr.ErrInternal.Error(), Message: fmt.Sprintf("HTTP %d: %.200s", status, data)}
	}
	return &APIError{Status: status, Code: eb.Error.Code, Message: eb.Error.Message}
}

// withRetryAfter records h's Retry-After in an *APIError.
func withRetryAfter(err error, h http.Header) error {
	if ae, ok := err.(*APIError); ok {
		ae.RetryAfter = retryAfter(h)
	}
	return err
}

func idOrEmpty(id eui64.ID) string {
	if id.IsZero() {
		return ""
	}
	return id.String()
}

// Whoami returns the caller's officer record.
func (c *Client) Whoami(ctx context.Context) (raapi.Officer, error) {
	var o raapi.Officer
	return o, c.do(ctx, http.MethodGet, "/v1/whoami", nil, &o)
}

// CreateParty: POST /v1/parties.
func (c *Client) CreateParty(ctx context.Context, id eui64.ID, name string) (raapi.Party, error) {
	var p raapi.Party
	return p, c.do(ctx, http.MethodPost, "/v1/parties", raapi.PartyBody{ID: id.String(), Name: name}, &p)
}

// ListParties: GET /v1/parties.
func (c *Client) ListParties(ctx context.Context) ([]raapi.Party, error) {
	var out raapi.PartyList
	return out.Parties, c.do(ctx, http.MethodGet, "/v1/parties", nil, &out)
}

// GetParty: GET /v1/parties/{id}.
func (c *Client) GetParty(ctx context.Context, id eui64.ID) (raapi.Party, error) {
	var p raapi.Party
	return p, c.do(ctx, http.MethodGet, "/v1/parties/"+id.String(), nil, &p)
}

// SetPartyStatus: POST /v1/parties/{id}/status, status "suspended" or
// "active" (reinstate).
func (c *Client) SetPartyStatus(ctx context.Context, id eui64.ID, status string) (raapi.Party, error) {
	var p raapi.Party
	return p, c.do(ctx, http.MethodPost, "/v1/parties/"+id.String()+"/status", raapi.PartyStatusBody{Status: status}, &p)
}

// CreateUser: POST /v1/users.
func (c *Client) CreateUser(ctx context.Context, id, partyID eui64.ID, r role.UserRole, name string) (raapi.User, error) {
	var u raapi.User
	return u, c.do(ctx, http.MethodPost, "/v1/users", raapi.UserBody{ID: id.String(), PartyID: partyID.String(), Role: string(r), Name: name}, &u)
}

// ListUsers: GET /v1/users[?party_id=].
func (c *Client) ListUsers(ctx context.Context, partyID eui64.ID) ([]raapi.User, error) {
	var out raapi.UserList
	return out.Users, c.do(ctx, http.MethodGet, "/v1/users"+query("party_id", idOrEmpty(partyID)), nil, &out)
}

// WithdrawUser: POST /v1/users/{id}/withdraw, revoking the user's
// certificates with reason (RFC 5280 code); without yes a dry run.
func (c *Client) WithdrawUser(ctx context.Context, id eui64.ID, reason int, yes bool) (raapi.UserWithdrawal, error) {
	var out raapi.UserWithdrawal
	return out, c.do(ctx, http.MethodPost, "/v1/users/"+id.String()+"/withdraw",
		raapi.UserWithdrawBody{Reason: json.RawMessage(strconv.Itoa(reason)), Yes: yes}, &out)
}

// AppointOfficer: POST /v1/officers. Write the credential with WriteCredential.
func (c *Client) AppointOfficer(ctx context.Context, req raapi.OfficerRequest) (raapi.Officer, credential.Credential, error) {
	var out raapi.OfficerCreated
	err := c.do(ctx, http.MethodPost, "/v1/officers",
		raapi.OfficerBody{ID: req.ID, Name: req.Name, Kind: req.Kind, PartyID: idOrEmpty(req.PartyID), CSR: req.CSR}, &out)
	return out.Officer, out.Credential, err
}

// ListOfficers: GET /v1/officers[?party_id=].
func (c *Client) ListOfficers(ctx context.Context, partyID eui64.ID) ([]raapi.Officer, error) {
	var out raapi.OfficerList
	return out.Officers, c.do(ctx, http.MethodGet, "/v1/officers"+query("party_id", idOrEmpty(partyID)), nil, &out)
}

// RemoveOfficer: DELETE /v1/officers/{id}.
func (c *Client) RemoveOfficer(ctx context.Context, id string) (raapi.Officer, error) {
	var o raapi.Officer
	return o, c.do(ctx, http.MethodDelete, "/v1/officers/"+url.PathEscape(id), nil, &o)
}

// SetOfficerStatus: POST /v1/officers/{id}/status, status "suspended" or
// "active" (reinstate).
func (c *Client) SetOfficerStatus(ctx context.Context, id, status string) (raapi.Officer, error) {
	var o raapi.Officer
	return o, c.do(ctx, http.MethodPost, "/v1/officers/"+url.PathEscape(id)+"/status", raapi.OfficerStatusBody{Status: status}, &o)
}

// RenewOfficerCredential: POST /v1/officers/{id}/credential. id is the
// caller (renewal; csrPEM optional) or an officer the caller may appoint
// (re-issue; csrPEM, made by that officer, required). The old credential
// stops working as soon as the RA answers: write the new one first.
func (c *Client) RenewOfficerCredential(ctx context.Context, id, csrPEM string) (raapi.Officer, credential.Credential, error) {
	var out raapi.OfficerCreated
	err := c.do(ctx, http.MethodPost, "/v1/officers/"+url.PathEscape(id)+"/credential", raapi.CredentialBody{CSR: csrPEM}, &out)
	return out.Officer, out.Credential, err
}

// Enrol: POST /v1/enroll. req.CSR is PEM or DER (sent as PEM); Mode ""
// means enrol.
func (c *Client) Enrol(ctx context.Context, req raapi.EnrolRequest) (raapi.Issued, error) {
	var out raapi.EnrolResult
	err := c.do(ctx, http.MethodPost, "/v1/enroll", raapi.EnrolBody{UserID: req.UserID.String(), Profile: string(req.Profile),
		CSR: raapi.CSRField(req.CSR), Mode: string(req.Mode), Replaces: req.Replaces}, &out)
	return raapi.Issued{Cert: out.Certificate, CertPEM: []byte(out.PEM)}, err
}

// Revoke: POST /v1/revoke (see Service.Revoke for dry runs). It is
// RevokeWithProgress without an observer: a party's result can outgrow the
// other calls' answer limit (about 350 bytes a certificate), and a long
// revocation must not hit the overall timeout after it has committed.
func (c *Client) Revoke(ctx context.Context, req raapi.RevokeRequest) (raapi.RevokeResult, error) {
	return c.RevokeWithProgress(ctx, req, nil)
}

func revokeBodyOf(req raapi.RevokeRequest) raapi.RevokeBody {
	return raapi.RevokeBody{Serial: req.Serial, UserID: idOrEmpty(req.UserID), PartyID: idOrEmpty(req.PartyID),
		Reason: json.RawMessage(strconv.Itoa(req.Reason)), Yes: req.Yes, DryRun: req.DryRun}
}

// ListCertificates: GET /v1/certificates, following its pages (issue 20)
// until the last or until q.Limit certificates (0: all).
func (c *Client) ListCertificates(ctx context.Context, q raapi.CertQuery) ([]raapi.CertInfo, error) {
	out := []raapi.CertInfo{}
	err := c.EachCertificatePage(ctx, q, func(page []raapi.CertInfo) error {
		out = append(out, page...)
		return nil
	})
	return out, err
}

// maxCertPage is the server's largest page (raserver.MaxCertPageSize).
const maxCertPage = 5000

// EachCertificatePage calls fn with each page of GET /v1/certificates in
// order, starting after q.After, and stops after q.Limit certificates
// (0: all), at the last page or at fn's first error.
func (c *Client) EachCertificatePage(ctx context.Context, q raapi.CertQuery, fn func([]raapi.CertInfo) error) error {
	v := url.Values{}
	for k, s := range map[string]string{"user_id": idOrEmpty(q.UserID), "party_id": idOrEmpty(q.PartyID), "status": q.Status} {
		if s != "" {
			v.Set(k, s)
		}
	}
	after, left := q.After, q.Limit
	for {
		if left != 0 { // a negative limit goes to the server, which refuses it
			v.Set("limit", strconv.Itoa(min(left, maxCertPage)))
		}
		v.Del("after")
		if after != "" {
			v.Set("after", after)
		}
		path := "/v1/certificates"
		if len(v) > 0 {
			path += "?" + v.Encode()
		}
		var page raapi.CertificateList
		if err := c.do(ctx, http.MethodGet, path, nil, &page); err != nil {
			return err
		}
		if left > 0 {
			page.Certificates = page.Certificates[:min(left, len(page.Certificates))]
			left -= len(page.Certificates)
		}
		if err := fn(page.Certificates); err != nil {
			return err
		}
		if page.Next == "" || page.Next == after || q.Limit > 0 && left == 0 {
			return nil
		}
		after = page.Next
	}
}

// GetCertificate: GET /v1/certificates/{serial} (with PEM).
func (c *Client) GetCertificate(ctx context.Context, serial string) (raapi.CertInfo, error) {
	var ci raapi.CertInfo
	return ci, c.do(ctx, http.MethodGet, "/v1/certificates/"+url.PathEscape(serial), nil, &ci)
}

// VerifyAudit: POST /v1/audit/verify. A broken chain is a report with
// OK false and an error wrapping ErrAuditBroken.
func (c *Client) VerifyAudit(ctx context.Context) (raapi.AuditReport, error) {
	var rep raapi.AuditReport
	if err := c.do(ctx, http.MethodPost, "/v1/audit/verify", nil, &rep); err != nil {
		return rep, err
	}
	if !rep.OK {
		return rep, fmt.Errorf("%w: %s", raerr.ErrAuditBroken, rep.Error)
	}
	return rep, nil
}

func query(k, v string) string {
	if v == "" {
		return ""
	}
	return "?" + url.Values{k: {v}}.Encode()
}

// Revocations: GET /v1/revocations?since=&wait= (wait at most
// MaxFeedWait; the call returns at the latest about wait later). It
// returns the signed feed envelope as received: open it with
// bundle.OpenFeedPage against the SMKI root; it is not trusted because
// it came over this connection.
func (c *Client) Revocations(ctx context.Context, since uint64, wait time.Duration) ([]byte, error) {
	v := url.Values{"since": {strconv.FormatUint(since, 10)}, "wait": {wait.String()}}
	var env json.RawMessage
	if err := c.do(ctx, http.MethodGet, "/v1/revocations?"+v.Encode(), nil, &env); err != nil {
		return nil, err
	}
	return env, nil
}
