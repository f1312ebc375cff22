package console

import (
	"context"
	"crypto/subtle"
	"crypto/x509"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/ra/raapi"
)

//go:embed templates/*.html static/*
var files embed.FS

// cookieName is the session cookie (path /console/).
const cookieName = "smki_console"

// maxForm bounds a form body; the largest is an uploaded CSR or device file.
const maxForm = 1 << 20

// Config configures New.
type Config struct {
	// Service is the RA whose decisions the console calls.
	Service *ra.Service
	// Logger receives one line per refused sign-in (default: discard).
	Logger *slog.Logger
	// Now is the clock for sessions and ages (default time.Now).
	Now func() time.Time
	// CRLs grades a stored CRL (ca.ORL, ca.ARL) for the home page's
	// stale-CRL warning (*ca.CA.CRLStatus); nil: no warning.
	CRLs func(ctx context.Context, name string) (ca.ARLStatus, error)
	// IdleTimeout and AbsoluteTimeout bound a session (defaults
	// DefaultIdleTimeout, DefaultAbsoluteTimeout).
	IdleTimeout, AbsoluteTimeout time.Duration
}

// Console is the console's HTTP handler, to mount at /console/.
type Console struct {
	svc   *ra.Service
	crls  func(ctx context.Context, name string) (ca.ARLStatus, error)
	log   *slog.Logger
	now   func() time.Time
	ss    *sessions
	pages *pages
	jobs  *jobs
	mux   *http.ServeMux
	xorig *http.CrossOriginProtection
	// certPage is how many certificates the search page lists at once
	// (certPageSize; tests make it small).
	certPage int
}

// New returns the console. It must be served over TLS that verifies a
// client certificate against the access root when one is given
// (tls.VerifyClientCertIfGiven), as `smki serve` does: the certificate
// sign-in and the login-link request read the verified chain.
func New(cfg Config) *Console {
	c := &Console{svc: cfg.Service, crls: cfg.CRLs, log: cfg.Logger, now: cfg.Now, xorig: http.NewCrossOriginProtection(), certPage: certPageSize}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	idle, abs := cfg.IdleTimeout, cfg.AbsoluteTimeout
	if idle <= 0 {
		idle = DefaultIdleTimeout
	}
	if abs <= 0 {
		abs = DefaultAbsoluteTimeout
	}
	// A cross-site sign-in is refused with the console's page and code,
	// as a signed-in POST is (signedIn), not net/http's bare text.
	c.xorig.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		c.forbidden(w, "the request came from another site")
	}))
	c.ss = newSessions(c.now, idle, abs)
	c.pages = mustPages(c.now, c.log)
	c.jobs = newJobs(c.now)
	c.routes()
	return c
}

// ServeHTTP sets the security headers of every answer and routes.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	c.mux.ServeHTTP(w, r)
}

// officerPage is a handler of a signed-in officer.
type officerPage func(w http.ResponseWriter, r *http.Request, v *view) error

func (c *Console) routes() {
	m := http.NewServeMux()
	static, _ := fs.Sub(files, "static")
	serveStatic := http.StripPrefix("/console/static/", http.FileServerFS(static))
	m.HandleFunc("GET /console/static/", func(w http.ResponseWriter, r *http.Request) {
		// Only the embedded files: no directory listing, and a file that
		// is not there gets the console's page, not net/http's text.
		if fi, err := fs.Stat(static, strings.TrimPrefix(r.URL.Path, "/console/static/")); err != nil || fi.IsDir() {
			c.notFound(w)
			return
		}
		serveStatic.ServeHTTP(w, r)
	})
	m.HandleFunc("POST /console/login-link", c.loginLink)
	m.HandleFunc("GET /console/login", c.loginPage)
	m.HandleFunc("GET /console/login/{token}", c.linkPage)
	m.Handle("POST /console/login/{token}", c.xorig.Handler(http.HandlerFunc(c.useLink)))
	m.Handle("POST /console/login-cert", c.xorig.Handler(http.HandlerFunc(c.certLogin)))
	m.HandleFunc("POST /console/logout", c.logout)

	m.Handle("GET /console/{$}", c.signedIn(c.home))
	m.Handle("GET /console/parties", c.signedIn(c.parties))
	m.Handle("POST /console/parties", c.signedIn(c.createParty))
	m.Handle("GET /console/parties/{id}", c.signedIn(c.party))
	m.Handle("POST /console/users", c.signedIn(c.createUser))
	m.Handle("GET /console/users/{id}", c.signedIn(c.user))
	m.Handle("POST /console/users/{id}/withdraw", c.signedIn(c.withdrawUser))
	m.Handle("GET /console/officers", c.signedIn(c.officers))
	m.Handle("POST /console/officers", c.signedIn(c.appointOfficer))
	m.Handle("POST /console/officers/{id}/remove", c.signedIn(c.removeOfficer))
	m.Handle("POST /console/officers/{id}/suspend", c.signedIn(c.officerStatus("suspended")))
	m.Handle("POST /console/officers/{id}/reinstate", c.signedIn(c.officerStatus("active")))
	m.Handle("GET /console/enrol", c.signedIn(c.enrolForm))
	m.Handle("POST /console/enrol", c.signedIn(c.enrol))
	m.Handle("GET /console/certificates", c.signedIn(c.certificates))
	m.Handle("GET /console/certificates/{serial}", c.signedIn(c.certificate))
	m.Handle("GET /console/certificates/{serial}/pem", c.signedIn(c.certificatePEM))
	m.Handle("POST /console/revoke", c.signedIn(c.revoke))
	m.Handle("GET /console/revoke-party", c.signedIn(c.revokePartyForm))
	m.Handle("POST /console/revoke-party", c.signedIn(c.revokeParty))
	m.Handle("GET /console/revoke-party/jobs/{id}", c.signedIn(c.revokeJobPage))
	m.Handle("GET /console/revoke-party/jobs/{id}/status", c.signedIn(c.revokeJobStatus))
	m.Handle("GET /console/solr", c.signedIn(c.solrList))
	m.Handle("POST /console/solr", c.signedIn(c.solrDeclare))
	m.Handle("GET /console/solr/{id}", c.signedIn(c.solrEvent))
	m.Handle("POST /console/solr/{id}/approve", c.signedIn(c.solrApprove))
	m.Handle("POST /console/solr/{id}/close", c.signedIn(c.solrClose))
	m.Handle("GET /console/adt", c.signedIn(c.adtList))
	m.Handle("POST /console/adt", c.signedIn(c.submitADT))
	m.Handle("POST /console/adt/withdraw", c.signedIn(c.withdrawADT))
	m.Handle("GET /console/devices", c.signedIn(c.devices))
	m.Handle("POST /console/devices", c.signedIn(c.importDevices))
	m.Handle("GET /console/allow-list", c.signedIn(c.allowList))
	m.Handle("POST /console/allow-list", c.signedIn(c.setAllowList))
	m.Handle("GET /console/audit", c.signedIn(c.audit))
	m.Handle("POST /console/audit/verify", c.signedIn(c.verifyAudit))
	m.HandleFunc("/console/", func(w http.ResponseWriter, r *http.Request) { c.notFound(w) })
	c.mux = m
}

// notFound answers a path the console does not serve.
func (c *Console) notFound(w http.ResponseWriter) {
	c.pages.render(w, http.StatusNotFound, "error.html", &view{Title: "Not found",
		Err: &formError{Code: "E_RA_NOT_FOUND", Message: "There is no such page.", Next: "Go back to the home page."}})
}

// sessionOf returns the session r's cookie names, and its ID; without
// one it sends the browser to the sign-in page (saying the session
// ended, when the cookie names one no longer open) and reports false.
func (c *Console) sessionOf(w http.ResponseWriter, r *http.Request) (string, session, bool) {
	ck, err := r.Cookie(cookieName)
	if err != nil {
		http.Redirect(w, r, "/console/login", http.StatusSeeOther)
		return "", session{}, false
	}
	sess, ok := c.ss.get(ck.Value)
	if !ok {
		clearCookie(w)
		http.Redirect(w, r, "/console/login?ended=1", http.StatusSeeOther)
		return "", session{}, false
	}
	return ck.Value, sess, true
}

// signedIn resolves the session, authenticates its certificate again
// (notAuthenticated says what a failure ends), checks the CSRF token and
// origin of a POST, and runs h.
func (c *Console) signedIn(h officerPage) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, sess, ok := c.sessionOf(w, r)
		if !ok {
			return
		}
		actor, err := c.svc.Authenticate(r.Context(), sess.cert)
		if err != nil {
			c.notAuthenticated(w, r, sess, err)
			return
		}
		if r.Method == http.MethodPost && !c.postAllowed(w, r, sess) {
			return
		}
		me, err := c.svc.Whoami(r.Context(), actor)
		if err != nil {
			c.notAuthenticated(w, r, sess, err)
			return
		}
		v := &view{Me: me, CSRF: sess.csrf, actor: actor.Via(ra.ChannelConsole)}
		if err := h(w, r, v); err != nil {
			c.pages.renderError(w, v, err)
		}
	})
}

// postAllowed checks a POST of sess: same origin, a form the console can
// read, the session's CSRF token. It answers the refusal itself.
func (c *Console) postAllowed(w http.ResponseWriter, r *http.Request, sess session) bool {
	if err := c.xorig.Check(r); err != nil {
		c.forbidden(w, "the request came from another site")
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if fe := parseForm(r); fe != nil {
		c.pages.render(w, fe.status, "error.html", &view{Title: "Not sent", Err: fe})
		return false
	}
	if subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(sess.csrf)) != 1 {
		c.forbidden(w, "the form's security token is missing or stale")
		return false
	}
	return true
}

// notAuthenticated answers a request whose session's certificate the RA
// did not accept. When the RA says it no longer authenticates
// (ErrUnauthenticated, ErrOfficerInactive: the officer removed or
// suspended, or this credential superseded by a renewal), every session
// and login link made with that certificate ends, and no other: an old
// tab on a renewed officer's superseded certificate must not sign out
// the session made with the new one. A removed or suspended officer's
// sessions all end all the same, as none of their certificates
// authenticates any more (each session made with another one ends at its
// own next request). Any other error (the store down or busy) ends
// nothing: the officer is told to reload.
func (c *Console) notAuthenticated(w http.ResponseWriter, r *http.Request, sess session, err error) {
	code := ra.CodeOf(err)
	if errors.Is(err, ra.ErrUnauthenticated) || errors.Is(err, ra.ErrOfficerInactive) {
		n := c.ss.endCert(sess.cert)
		clearCookie(w)
		c.log.Warn("console sessions ended: their credential no longer authenticates", "officer", sess.officer,
			"serial", sess.cert.SerialNumber.Text(16), "sessions", n, "code", code)
		http.Redirect(w, r, "/console/login?ended=1", http.StatusSeeOther)
		return
	}
	c.log.Error("console: a session's credential could not be checked", "officer", sess.officer, "code", code, "error", err)
	w.Header().Set("Retry-After", "5")
	c.pages.render(w, http.StatusServiceUnavailable, "error.html", &view{Title: "Try again",
		Err: &formError{Code: code, Message: "Your credential could not be checked just now; you are still signed in.",
			Next: "Reload the page in a moment; if this persists, tell the RA operators."}})
}

func parseForm(r *http.Request) *formError {
	var err error
	if ct := r.Header.Get("Content-Type"); len(ct) >= 19 && ct[:19] == "multipart/form-data" {
		err = r.ParseMultipartForm(maxForm)
	} else {
		err = r.ParseForm()
	}
	var mbe *http.MaxBytesError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &mbe):
		return &formError{Code: "E_RA_TOO_LARGE", Message: fmt.Sprintf("The form is over %d bytes.", mbe.Limit),
			Next: "Send a smaller file.", status: http.StatusRequestEntityTooLarge}
	default:
		// Malformed (a bad escape, a multipart body without its boundary):
		// the browser did not send what the console's form makes.
		return &formError{Code: "E_RA_BAD_REQUEST", Message: "The form could not be read: it is not what the console's page sends.",
			Next: "Open the page again from the console and resubmit the form.", status: http.StatusBadRequest}
	}
}

func (c *Console) forbidden(w http.ResponseWriter, why string) {
	c.pages.render(w, http.StatusForbidden, "error.html", &view{Title: "Refused",
		Err: &formError{Code: "E_CONSOLE_CSRF", Message: "Refused: " + why + ".", Next: "Open the page again from the console and resubmit the form."}})
}

func clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/console/", MaxAge: -1,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
}

// verifiedCert is the request's verified client certificate, if any.
func verifiedCert(r *http.Request) *x509.Certificate {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return nil
	}
	return r.TLS.VerifiedChains[0][0]
}

// loginLink answers an officer's mTLS request (smki console open) with a
// single-use login link bound to that officer's certificate.
func (c *Console) loginLink(w http.ResponseWriter, r *http.Request) {
	writeErr := func(status int, code, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		var b struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		b.Error.Code, b.Error.Message = code, msg
		json.NewEncoder(w).Encode(b)
	}
	// A browser holding the officer's certificate must not be made to ask
	// for a link by another site; the CLI sends no Origin.
	if o := r.Header.Get("Origin"); o != "" {
		writeErr(http.StatusForbidden, "E_CONSOLE_CSRF", "login links are for smki console open, not for browsers")
		return
	}
	cert := verifiedCert(r)
	if cert == nil {
		writeErr(http.StatusUnauthorized, ra.ErrUnauthenticated.Error(), "a verified client certificate is required")
		return
	}
	if _, err := c.svc.Authenticate(r.Context(), cert); err != nil {
		if status, transient := signInFailed(w, err); transient {
			writeErr(status, ra.CodeOf(err), couldNotCheck)
			return
		}
		writeErr(http.StatusUnauthorized, ra.CodeOf(err), err.Error())
		return
	}
	tok, exp, ok := c.ss.newLink(cert)
	if !ok {
		writeErr(http.StatusServiceUnavailable, "E_CONSOLE_BUSY", "too many login links outstanding; try again in a minute")
		return
	}
	u := url.URL{Scheme: "https", Host: r.Host, Path: "/console/login/" + tok}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(raapi.LoginLink{URL: u.String(), ExpiresAt: exp.UTC()})
}

// loginPage explains the two ways in, and offers the certificate sign-in
// when the browser presented an officer's certificate.
func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	v := &view{Title: "Sign in", Ended: r.URL.Query().Get("ended") != ""}
	if cert := verifiedCert(r); cert != nil {
		v.CertOfficer = cert.Subject.CommonName
	}
	c.pages.render(w, http.StatusOK, "login.html", v)
}

// linkPage shows a login link's button; only the POST uses the link, so a
// link preview or prefetch cannot spend it.
func (c *Console) linkPage(w http.ResponseWriter, r *http.Request) {
	tok := r.PathValue("token")
	cert, ok := c.ss.peekLink(tok)
	if !ok {
		c.pages.render(w, http.StatusNotFound, "login.html", &view{Title: "Sign in", Err: &formError{Code: "E_CONSOLE_LINK",
			Message: "This login link is used, expired or unknown.", Next: "Run smki console open again: a link works once, within 60 seconds."}})
		return
	}
	c.pages.render(w, http.StatusOK, "link.html", &view{Title: "Sign in", CertOfficer: cert.Subject.CommonName, Token: tok})
}

// useLink signs in with a login link. The link is spent once the RA has
// decided on its certificate, either way; a store failure before that
// leaves it usable for the rest of its minute, so a reload can sign in.
func (c *Console) useLink(w http.ResponseWriter, r *http.Request) {
	tok := r.PathValue("token")
	linkGone := func() {
		c.pages.render(w, http.StatusNotFound, "login.html", &view{Title: "Sign in", Err: &formError{Code: "E_CONSOLE_LINK",
			Message: "This login link is used, expired or unknown.", Next: "Run smki console open again: a link works once, within 60 seconds."}})
	}
	cert, ok := c.ss.peekLink(tok)
	if !ok {
		linkGone()
		return
	}
	a, err := c.svc.Authenticate(r.Context(), cert)
	if status, transient := signInFailed(w, err); transient {
		c.renderCouldNotCheck(w, status, err)
		return
	}
	if _, ok := c.ss.useLink(tok); !ok {
		linkGone() // spent by a concurrent use
		return
	}
	if err != nil {
		c.pages.render(w, http.StatusUnauthorized, "login.html", &view{Title: "Sign in", Err: errorOf(err)})
		return
	}
	c.startSession(w, r, a, cert)
}

func (c *Console) certLogin(w http.ResponseWriter, r *http.Request) {
	cert := verifiedCert(r)
	if cert == nil {
		c.pages.render(w, http.StatusUnauthorized, "login.html", &view{Title: "Sign in", Err: &formError{Code: ra.ErrUnauthenticated.Error(),
			Message: "Your browser presented no officer certificate.", Next: "Import your PKCS#12 (smki officer export --p12) and reload, or use smki console open."}})
		return
	}
	a, err := c.svc.Authenticate(r.Context(), cert)
	if status, transient := signInFailed(w, err); transient {
		c.renderCouldNotCheck(w, status, err)
		return
	}
	if err != nil {
		c.pages.render(w, http.StatusUnauthorized, "login.html", &view{Title: "Sign in", Err: errorOf(err)})
		return
	}
	c.startSession(w, r, a, cert)
}

// couldNotCheck is what signing in says when the RA could not decide on
// the credential (its store busy or failing): nothing about the
// credential, which may well be good.
const couldNotCheck = "the RA could not check your credential just now (its store did not answer); nothing was changed. Try again in a moment; if this persists, tell the RA operators"

// signInFailed reports whether err, Authenticate's answer to a sign-in,
// is a failure of the RA rather than its refusal of the credential (a
// busy or failing store: 503 or 500), with the status to answer; for a
// busy store it sets Retry-After. A refusal (or nil) is not transient:
// the caller answers it as a refusal, 401.
func signInFailed(w http.ResponseWriter, err error) (int, bool) {
	if err == nil {
		return 0, false
	}
	status := raapi.StatusOf(err)
	if status < 500 {
		return 0, false
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(raapi.RetryAfterBusy))
	}
	return status, true
}

// renderCouldNotCheck answers a sign-in page whose credential the RA
// could not check (signInFailed).
func (c *Console) renderCouldNotCheck(w http.ResponseWriter, status int, err error) {
	c.log.Error("console: a sign-in's credential could not be checked", "code", ra.CodeOf(err), "error", err)
	c.pages.render(w, status, "login.html", &view{Title: "Sign in", Err: &formError{Code: ra.CodeOf(err),
		Message: "Your credential could not be checked just now; nothing was changed.",
		Next:    "Try again in a moment; if this persists, tell the RA operators."}})
}

// startSession opens a session for a, the officer cert authenticated,
// with a new cookie: the one the browser sent is never adopted, and the
// session it named (if any) ends, so no copy of it outlives this sign-in.
func (c *Console) startSession(w http.ResponseWriter, r *http.Request, a ra.Actor, cert *x509.Certificate) {
	if ck, err := r.Cookie(cookieName); err == nil {
		c.ss.end(ck.Value)
	}
	id, ok := c.ss.start(a.ID(), cert)
	if !ok {
		c.pages.render(w, http.StatusServiceUnavailable, "login.html", &view{Title: "Sign in", Err: &formError{Code: "E_CONSOLE_BUSY",
			Message: "Too many sessions are open.", Next: "Try again in a few minutes."}})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: id, Path: "/console/", HttpOnly: true, Secure: true,
		SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/console/", http.StatusSeeOther)
}

// logout ends the session. It asks the RA nothing (unlike signedIn), so
// an officer can sign out while the RA cannot check credentials; it still
// needs the session's CSRF token, so another site cannot sign them out.
func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	id, sess, ok := c.sessionOf(w, r)
	if !ok {
		return
	}
	if !c.postAllowed(w, r, sess) {
		return
	}
	c.ss.end(id)
	clearCookie(w)
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
}

// ctx is the request's context (shorthand for the page handlers).
func ctx(r *http.Request) context.Context { return r.Context() }
