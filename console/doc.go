// Package console is the RA console: the web pages through which RA staff
// and party officers (SROs, AROs) do their RA tasks in a browser, served by
// `smki serve` under /console/ (docs/console.md).
//
// The console owns no permission rule. Every page calls the same ra.Service
// decision as the JSON API (ra/raserver) with the officer's ra.Actor marked
// Via(ra.ChannelConsole), so each decision is authorised, refused and
// audited exactly as over the API, and its audit record says
// "channel=console".
//
// Pages are rendered on the server with html/template from embedded
// templates and one embedded style sheet; every page and form works
// without JavaScript. One small embedded script (static/progress.js,
// allowed by the CSP's script-src 'self'; no inline script) updates a
// bulk revocation's progress page in place, which without it refreshes
// itself (jobs.go). An officer signs in with the same
// credential as the API, either by the browser presenting the officer's
// client certificate, or by a single-use login link that `smki console
// open` fetches over mTLS. A session is an HttpOnly, Secure,
// SameSite=Strict cookie with idle and absolute timeouts; each request
// authenticates the officer's certificate again, so a removed officer or a
// superseded credential ends the session at once. Every state change needs
// the session's CSRF token and passes net/http's cross-origin protection.
package console
