package console

import (
	"bytes"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/ra/raapi"
)

// view is what every page template gets: the officer, the CSRF token, the
// page's data and at most one error, shown next to its field.
type view struct {
	Title       string
	Me          ra.Officer
	CSRF        string
	Err         *formError
	Notice      string
	Data        any
	Form        map[string]string // the values submitted, to fill the form again
	CertOfficer string            // sign-in pages: the officer a certificate names
	Token       string            // the login link page
	Ended       bool              // the login page after a session ended
	Refresh     int               // seconds: a <noscript> refresh of a page that shows progress
	Scripts     []string          // files of static/ the page loads (progressive enhancement only)

	actor ra.Actor
}

// IsRA reports whether the officer is RA staff (sees every party).
func (v *view) IsRA() bool { return ra.IsRAKind(v.Me.Kind) }

// Can reports whether the officer's kind is one of kinds (to show a form;
// the RA decides).
func (v *view) Can(kinds ...string) bool {
	for _, k := range kinds {
		if v.Me.Kind == k {
			return true
		}
	}
	return false
}

// Val is a submitted form value, to fill the form again after an error.
func (v *view) Val(name string) string { return v.Form[name] }

// formError is a refusal as the page shows it: the stable code, the RA's
// sentence and what to do next, next to Field when it names one.
type formError struct {
	Field   string
	Code    string
	Message string
	Next    string
	status  int
}

// At reports whether the error belongs next to field.
func (e *formError) At(field string) bool { return e != nil && e.Field == field }

// nextStep says what to do about an error of each class.
var nextStep = map[ra.Class]string{
	ra.ClassInvalid:         "Correct the value and submit again.",
	ra.ClassForbidden:       "Your role does not allow this; ask an officer who has the right.",
	ra.ClassNotFound:        "Check the identifier; you see only what your role lets you see.",
	ra.ClassConflict:        "It already exists or changed meanwhile; reload the page and check.",
	ra.ClassUnauthenticated: "Sign in again.",
	ra.ClassTooLarge:        "Send something smaller.",
	ra.ClassUnavailable:     "Try again in a moment.",
	ra.ClassBusy:            fmt.Sprintf("Send it again in %d s (reload the page, or submit the form again).", raapi.RetryAfterBusy),
	ra.ClassInternal:        "Try again; if it persists, tell the RA operators (the server log has the detail).",
}

// failedMessage is what a page says of a 5xx of each class, in place of
// its detail, which stays in the server log (the RA logs it).
var failedMessage = map[ra.Class]string{
	ra.ClassBusy:        "The RA is busy: the store met contention and did not answer; nothing was changed.",
	ra.ClassUnavailable: "The RA's store cannot answer just now; nothing was changed.",
}

// errorOf turns an RA error into what the page shows; a 5xx keeps its
// detail in the server log.
func errorOf(err error) *formError {
	status, class := raapi.StatusOf(err), ra.ClassOf(err)
	e := &formError{Code: ra.CodeOf(err), Next: nextStep[class], status: status}
	// The RA's text starts with its code, which the page shows already.
	e.Message = strings.TrimPrefix(err.Error(), e.Code+": ")
	if status >= 500 {
		e.Message = "internal error"
		if m, ok := failedMessage[class]; ok {
			e.Message = m
		}
	}
	return e
}

// fieldErr is errorOf next to field.
func fieldErr(field string, err error) *formError {
	e := errorOf(err)
	e.Field = field
	return e
}

// pages holds the parsed templates, one set per page with the layout.
type pages struct {
	now func() time.Time
	log *slog.Logger // a page that cannot be rendered
	set map[string]*template.Template
}

func mustPages(now func() time.Time, log *slog.Logger) *pages {
	p := &pages{now: now, log: log, set: map[string]*template.Template{}}
	funcs := template.FuncMap{
		"when": p.when,
		"date": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
		"eui":  func(id eui64.ID) string { return groupEUI(id) },
		"euis": func(s string) string {
			id, err := eui64.Parse(s)
			if err != nil {
				return s
			}
			return groupEUI(id)
		},
		"reason": ra.ReasonName,
		"dur":    func(d bundle.Duration) string { return time.Duration(d).String() },
		"deref": func(p *time.Time) time.Time {
			if p == nil {
				return time.Time{}
			}
			return *p
		},
		"profiles": func() []string { return []string{"xml-signing", "digital-signing", "key-agreement"} },
		"kinds":    ra.OfficerKinds,
		"roles":    func() []string { return []string{"IS", "ES", "GS", "RSA", "ED", "GT", "OU", "SC"} },
		"reasons": func() []string {
			return []string{"unspecified", "keyCompromise", "affiliationChanged", "superseded", "cessationOfOperation"}
		},
	}
	layout, err := files.ReadFile("templates/layout.html")
	if err != nil {
		panic(err)
	}
	entries, err := files.ReadDir("templates")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		if e.Name() == "layout.html" {
			continue
		}
		body, err := files.ReadFile("templates/" + e.Name())
		if err != nil {
			panic(err)
		}
		t := template.Must(template.New("layout").Funcs(funcs).Parse(string(layout)))
		p.set[e.Name()] = template.Must(t.New(e.Name()).Parse(string(body)))
	}
	return p
}

// groupEUI shows an EUI-64 in groups of two hex digits.
func groupEUI(id eui64.ID) string { return id.String() }

// when is a UTC time with its relative age.
func (p *pages) when(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := p.now().Sub(t)
	rel := ""
	ad := d
	if ad < 0 {
		ad = -ad
	}
	switch {
	case ad < time.Minute:
		rel = "just now"
	case ad < time.Hour:
		rel = fmt.Sprintf("%d min", int(ad.Minutes()))
	case ad < 48*time.Hour:
		rel = fmt.Sprintf("%d h", int(ad.Hours()))
	default:
		rel = fmt.Sprintf("%d days", int(ad.Hours()/24))
	}
	if rel != "just now" {
		if d < 0 {
			rel = "in " + rel
		} else {
			rel += " ago"
		}
	}
	return t.UTC().Format("2006-01-02 15:04 UTC") + " (" + rel + ")"
}

// cannotRender is the answer of a page whose template failed (a
// programming error): plain text, as the page itself cannot be trusted.
const cannotRender = "E_RA_INTERNAL: this page could not be shown. Open it again from the console (what you sent may have been done: check before you send it again); if it persists, tell the RA operators (the server log has the detail).\n"

// render writes page with v; a template failure is logged and answered
// 500 E_RA_INTERNAL in plain text.
func (p *pages) render(w http.ResponseWriter, status int, page string, v *view) {
	failed := func(err error) {
		p.log.Error("console: a page could not be rendered", "page", page, "error", err)
		http.Error(w, cannotRender, http.StatusInternalServerError)
	}
	t, ok := p.set[page]
	if !ok {
		failed(fmt.Errorf("no template %s", page))
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		failed(err)
		return
	}
	if v.Err != nil && ra.ClassOfCode(v.Err.Code) == ra.ClassBusy {
		w.Header().Set("Retry-After", strconv.Itoa(raapi.RetryAfterBusy))
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// renderError shows a handler's error on the error page.
func (p *pages) renderError(w http.ResponseWriter, v *view, err error) {
	fe := errorOf(err)
	v.Err = fe
	v.Title = "Refused"
	if fe.status == http.StatusNotFound {
		v.Title = "Not found"
	}
	p.render(w, fe.status, "error.html", v)
}

// trimmed returns the form value with surrounding space removed.
func trimmed(r *http.Request, name string) string { return strings.TrimSpace(r.FormValue(name)) }

// formValues keeps the submitted values (not files) to fill a form again.
func formValues(r *http.Request) map[string]string {
	m := map[string]string{}
	for k, vs := range r.PostForm {
		if k != "csrf" && len(vs) > 0 {
			m[k] = vs[0]
		}
	}
	return m
}
