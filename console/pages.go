package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/ra/adtfile"
	"github.com/smki/smki/ra/devicefile"
	"github.com/smki/smki/ra/raapi"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
)

// Each handler parses the form into the RA's types and calls the same
// ra.Service decision as the API (ra/raserver); a refusal is shown next
// to its field and re-renders the form with what was submitted.

// homeData is what needs attention.
type homeData struct {
	Pending   []ra.SoLREvent // declared, waiting for a second officer
	Scheduled []ra.SoLREvent // approved, revocation still to come
	Expiring  []ra.CertInfo  // good, expiring within 30 days: the first homeExpiring
	// MoreExpiring: more than homeExpiring expire within 30 days; the
	// certificates page lists them all, a page at a time.
	MoreExpiring bool
	CRLs         []crlWarning // the ARL or ORL expired or about to
	// SoLR and Certs say what the SoLR and certificate sections show:
	// "" the lists above, "hidden" nothing (this officer may not read
	// them), or the RA's code when it could not answer now. An empty list
	// reads "None." only when the RA said there is none.
	SoLR, Certs string
}

// homeSection is what a home section shows after the RA's answer err.
func homeSection(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ra.ErrForbidden):
		return "hidden"
	default:
		return ra.CodeOf(err)
	}
}

// crlWarning is a CRL that needs attention: relying parties reject it
// after NextUpdate.
type crlWarning struct {
	Name       string
	State      string // "expired", "expiring", "missing"
	NextUpdate time.Time
	What       string // what to do
}

// crlsNeedingAttention lists the ARL and ORL if one is missing, past its
// nextUpdate, or within the last quarter of its lifetime. smki reissues a
// CRL at half its lifetime (ca.RefreshCRLs), so a CRL in its last quarter
// means the reissue has failed for a quarter of its lifetime, or, for the
// ARL with the root offline, that the key ceremony is due.
func (c *Console) crlsNeedingAttention(r *http.Request, now time.Time) []crlWarning {
	if c.crls == nil {
		return nil
	}
	var out []crlWarning
	for _, k := range []struct{ name, label, what string }{
		{ca.ARL, "ARL", "Reissue it: with the root online the server does so itself (check its log); with the root offline hold a key ceremony (smki ca arl) and run smki ca import-arl."},
		{ca.ORL, "ORL", "The server reissues it at half its lifetime: check the server's log for the failed CRL refresh."},
	} {
		st, err := c.crls(ctx(r), k.name)
		w := crlWarning{Name: k.label, NextUpdate: st.NextUpdate, What: k.what}
		switch {
		case err != nil:
			continue
		case st.State == ca.ARLMissing:
			w.State = "missing"
		case st.State == ca.ARLExpired:
			w.State = "expired"
		case st.NextUpdate.Sub(now) < st.NextUpdate.Sub(st.ThisUpdate)/4:
			w.State = "expiring"
		default:
			continue
		}
		out = append(out, w)
	}
	return out
}

// The home page lists at most homeExpiring of the certificates expiring
// within homeExpiringDays, and links to the certificates page for all of
// them: a Supplier may hold tens of thousands expiring in one month.
const (
	homeExpiring     = 20
	homeExpiringDays = 30
)

func (c *Console) home(w http.ResponseWriter, r *http.Request, v *view) error {
	var d homeData
	now := c.now()
	d.SoLR = "hidden"
	if v.Can(ra.KindRAOperator, ra.KindRAApprover, ra.KindAuthorityLiaison, ra.KindSRO, ra.KindARO) {
		evs, err := c.svc.ListSoLR(ctx(r), v.actor)
		d.SoLR = homeSection(err)
		for _, e := range evs {
			switch {
			case e.State == "declared":
				d.Pending = append(d.Pending, e)
			case e.RevokedAt == nil && e.RevokeAt != nil && e.RevokeAt.After(now) && e.ClosedAt == nil:
				d.Scheduled = append(d.Scheduled, e)
			}
		}
	}
	cs, err := c.svc.ListCertificates(ctx(r), v.actor, ra.CertQuery{Status: string(store.StatusGood),
		ExpiresBefore: now.Add(homeExpiringDays * 24 * time.Hour), Limit: homeExpiring + 1})
	d.Certs = homeSection(err)
	if len(cs) > homeExpiring {
		cs, d.MoreExpiring = cs[:homeExpiring], true
	}
	d.Expiring = cs
	d.CRLs = c.crlsNeedingAttention(r, now)
	v.Title, v.Data = "Home", d
	c.pages.render(w, http.StatusOK, "home.html", v)
	return nil
}

// --- parties and users ---

func (c *Console) parties(w http.ResponseWriter, r *http.Request, v *view) error {
	return c.partiesPage(w, r, v, http.StatusOK)
}

func (c *Console) partiesPage(w http.ResponseWriter, r *http.Request, v *view, status int) error {
	ps, err := c.svc.ListParties(ctx(r), v.actor)
	if err != nil {
		return err
	}
	v.Title, v.Data = "Parties", ps
	c.pages.render(w, status, "parties.html", v)
	return nil
}

func (c *Console) createParty(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Form = formValues(r)
	id, err := raapi.ParseEUI("Party ID", trimmed(r, "id"))
	if err != nil {
		v.Err = fieldErr("id", err)
		return c.partiesPage(w, r, v, http.StatusBadRequest)
	}
	p, err := c.svc.CreateParty(ctx(r), v.actor, id, trimmed(r, "name"))
	if err != nil {
		v.Err = fieldErr(fieldOf(err, "id", "name"), err)
		return c.partiesPage(w, r, v, errorOf(err).status)
	}
	http.Redirect(w, r, "/console/parties/"+p.ID.String(), http.StatusSeeOther)
	return nil
}

// fieldOf places an error next to idField when it is about an identifier,
// else next to other.
func fieldOf(err error, idField, other string) string {
	if errors.Is(err, ra.ErrInvalidID) || errors.Is(err, ra.ErrExists) {
		return idField
	}
	return other
}

type partyData struct {
	Party    ra.Party
	Users    []ra.User
	Officers []ra.Officer
}

func (c *Console) party(w http.ResponseWriter, r *http.Request, v *view) error {
	return c.partyPage(w, r, v, r.PathValue("id"), http.StatusOK)
}

func (c *Console) partyPage(w http.ResponseWriter, r *http.Request, v *view, pid string, status int) error {
	id, err := raapi.ParseEUI("Party ID", pid)
	if err != nil {
		return fmt.Errorf("%w: %w", ra.ErrNotFound, err)
	}
	p, err := c.svc.GetParty(ctx(r), v.actor, id)
	if err != nil {
		return err // another party's is "not found" (the RA's hidden rule)
	}
	us, err := c.svc.ListUsers(ctx(r), v.actor, id)
	if err != nil {
		return err
	}
	os, err := c.svc.ListOfficers(ctx(r), v.actor, id)
	if err != nil {
		return err
	}
	v.Title, v.Data = "Party "+p.Name, partyData{Party: p, Users: us, Officers: os}
	c.pages.render(w, status, "party.html", v)
	return nil
}

func (c *Console) createUser(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Form = formValues(r)
	pidStr := trimmed(r, "party_id")
	fail := func(field string, err error) error {
		v.Err = fieldErr(field, err)
		return c.partyPage(w, r, v, pidStr, errorOf(err).status)
	}
	pid, err := raapi.ParseEUI("Party ID", pidStr)
	if err != nil {
		return err
	}
	id, err := raapi.ParseEUI("User ID", trimmed(r, "id"))
	if err != nil {
		return fail("user_id", err)
	}
	ur, err := role.Parse(trimmed(r, "role"))
	if err != nil {
		return fail("role", fmt.Errorf("%w: %w", ra.ErrInvalidRole, err))
	}
	u, err := c.svc.CreateUser(ctx(r), v.actor, id, pid, ur, trimmed(r, "name"))
	if err != nil {
		return fail(fieldOf(err, "user_id", "user_name"), err)
	}
	http.Redirect(w, r, "/console/users/"+u.ID.String(), http.StatusSeeOther)
	return nil
}

type userData struct {
	User     ra.User
	Certs    []ra.CertInfo // the first page (certPage) of the user's
	Profiles []ca.Profile
	Next     template.URL // the certificates page after these; "" when none remain
}

func (c *Console) user(w http.ResponseWriter, r *http.Request, v *view) error {
	id, err := raapi.ParseEUI("User ID", r.PathValue("id"))
	if err != nil {
		return fmt.Errorf("%w: %w", ra.ErrNotFound, err)
	}
	return c.userPage(w, r, v, id, http.StatusOK)
}

// withdrawUser withdraws the page's User ID (an RA operator; the RA
// decides): final, so the form must carry confirm=yes. Sent again, the
// RA's answer is E_RA_INACTIVE on the user's page.
func (c *Console) withdrawUser(w http.ResponseWriter, r *http.Request, v *view) error {
	id, err := raapi.ParseEUI("User ID", r.PathValue("id"))
	if err != nil {
		return fmt.Errorf("%w: %w", ra.ErrNotFound, err)
	}
	reason, err := ra.ParseReason(trimmed(r, "reason"))
	if err == nil && r.FormValue("confirm") != "yes" {
		err = fmt.Errorf("%w: tick the box to confirm: a withdrawal is final and revokes every good certificate of the user", ra.ErrBadRequest)
	}
	var res ra.UserWithdrawal
	if err == nil {
		res, err = c.svc.WithdrawUser(ctx(r), v.actor, id, reason, true)
	}
	if err != nil {
		v.Err = fieldErr("withdraw", err)
		return c.userPage(w, r, v, id, errorOf(err).status)
	}
	v.Notice = fmt.Sprintf("User %s withdrawn; %d certificate(s) revoked (%s).", res.User.ID, res.Revocation.RevokedCount, ra.ReasonName(reason))
	return c.userPage(w, r, v, id, http.StatusOK)
}

func (c *Console) userPage(w http.ResponseWriter, r *http.Request, v *view, id eui64.ID, status int) error {
	u, err := c.svc.GetUser(ctx(r), v.actor, id)
	if err != nil {
		return err
	}
	cs, err := c.svc.ListCertificates(ctx(r), v.actor, ra.CertQuery{UserID: id, Limit: c.certPage})
	if err != nil {
		return err
	}
	var next template.URL
	if len(cs) == c.certPage {
		next = template.URL("/console/certificates?" + url.Values{"user": {u.ID.String()}, "after": {cs[len(cs)-1].Serial}}.Encode())
	}
	v.Title, v.Data = "User "+u.Name, userData{User: u, Certs: cs, Profiles: ra.EligibleProfiles(u.Role), Next: next}
	c.pages.render(w, status, "user.html", v)
	return nil
}

// --- officers ---

type officersData struct {
	Officers  []ra.Officer
	Appointed *appointed
}

type appointed struct {
	Officer ra.Officer
	CertPEM string
	CAPEM   string
}

func (c *Console) officers(w http.ResponseWriter, r *http.Request, v *view) error {
	return c.officersPage(w, r, v, http.StatusOK, nil)
}

func (c *Console) officersPage(w http.ResponseWriter, r *http.Request, v *view, status int, ap *appointed) error {
	var pid eui64.ID
	if ra.IsPartyKind(v.Me.Kind) {
		pid, _ = eui64.Parse(v.Me.PartyID)
	}
	os, err := c.svc.ListOfficers(ctx(r), v.actor, pid)
	if err != nil {
		return err
	}
	// A party's page links here to appoint one of its officers
	// (?party=ID): the form starts with that party.
	if p := r.URL.Query().Get("party"); p != "" && v.Val("party_id") == "" {
		if v.Form == nil {
			v.Form = map[string]string{}
		}
		v.Form["party_id"] = p
	}
	v.Title, v.Data = "Officers", officersData{Officers: os, Appointed: ap}
	c.pages.render(w, status, "officers.html", v)
	return nil
}

// appointOfficer certifies the appointee's own key: the console takes only
// a CSR (smki officer keygen), so no private key passes through a browser.
func (c *Console) appointOfficer(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Form = formValues(r)
	fail := func(field string, err error) error {
		v.Err = fieldErr(field, err)
		return c.officersPage(w, r, v, errorOf(err).status, nil)
	}
	var pid eui64.ID
	if s := trimmed(r, "party_id"); s != "" {
		var err error
		if pid, err = raapi.ParseEUI("Party ID", s); err != nil {
			return fail("party_id", err)
		}
	}
	csr, err := upload(r, "csr_file", "csr", ca.MaxCSRSize)
	if err != nil {
		return fail("csr", err)
	}
	if len(csr) == 0 {
		return fail("csr", fmt.Errorf("%w: paste or upload the appointee's CSR (made with smki officer keygen); the console never handles an officer's private key", ra.ErrBadRequest))
	}
	o, cred, err := c.svc.AppointOfficer(ctx(r), v.actor, ra.OfficerRequest{ID: trimmed(r, "id"), Name: trimmed(r, "name"),
		Kind: trimmed(r, "kind"), PartyID: pid, CSR: string(csr)})
	if err != nil {
		field := "id"
		switch {
		case errors.Is(err, ra.ErrCSRInvalid), errors.Is(err, ra.ErrCSRRequired), errors.Is(err, ra.ErrCSRMismatch):
			field = "csr"
		case errors.Is(err, ra.ErrInvalidRole), errors.Is(err, ra.ErrForbidden):
			field = "kind"
		}
		return fail(field, err)
	}
	v.Form = nil
	v.Notice = "Officer " + o.ID + " appointed."
	return c.officersPage(w, r, v, http.StatusCreated, &appointed{Officer: o, CertPEM: string(cred.CertPEM), CAPEM: string(cred.CAPEM)})
}

func (c *Console) removeOfficer(w http.ResponseWriter, r *http.Request, v *view) error {
	o, err := c.svc.RemoveOfficer(ctx(r), v.actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	v.Notice = "Officer " + o.ID + " removed; their sessions and credential are refused from now on."
	return c.officersPage(w, r, v, http.StatusOK, nil)
}

// officerStatus suspends (status "suspended") or reinstates ("active")
// the officer of the path; the RA decides who may. Sent again, the RA's
// answer is E_RA_INACTIVE on the officers page.
func (c *Console) officerStatus(status string) func(w http.ResponseWriter, r *http.Request, v *view) error {
	return func(w http.ResponseWriter, r *http.Request, v *view) error {
		o, err := c.svc.SetOfficerStatus(ctx(r), v.actor, r.PathValue("id"), status)
		if err != nil {
			v.Err = fieldErr("officer_status", err)
			return c.officersPage(w, r, v, errorOf(err).status, nil)
		}
		v.Notice = "Officer " + o.ID + " reinstated; their credential works again."
		if o.Status == store.StatusSuspended {
			v.Notice = "Officer " + o.ID + " suspended; their sessions and credential are refused until they are reinstated."
		}
		return c.officersPage(w, r, v, http.StatusOK, nil)
	}
}

// upload reads a file field, or else a text field, at most max bytes.
func upload(r *http.Request, fileField, textField string, max int64) ([]byte, error) {
	if r.MultipartForm != nil {
		if fhs := r.MultipartForm.File[fileField]; len(fhs) > 0 && fhs[0].Size > 0 {
			if fhs[0].Size > max {
				return nil, fmt.Errorf("%w: the file is over %d bytes", ra.ErrTooLarge, max)
			}
			f, err := fhs[0].Open()
			if err != nil {
				return nil, fmt.Errorf("%w: the uploaded file could not be read", ra.ErrBadRequest)
			}
			defer f.Close()
			return io.ReadAll(io.LimitReader(f, max))
		}
	}
	s := strings.TrimSpace(r.FormValue(textField))
	if int64(len(s)) > max {
		return nil, fmt.Errorf("%w: the text is over %d bytes", ra.ErrTooLarge, max)
	}
	return []byte(s), nil
}

// --- enrolment ---

type enrolData struct {
	Users  []ra.User
	Issued *ra.Issued
}

func (c *Console) enrolForm(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Form = map[string]string{"user_id": r.URL.Query().Get("user"), "profile": r.URL.Query().Get("profile")}
	return c.enrolPage(w, r, v, http.StatusOK, nil)
}

func (c *Console) enrolPage(w http.ResponseWriter, r *http.Request, v *view, status int, is *ra.Issued) error {
	var users []ra.User
	if ra.IsPartyKind(v.Me.Kind) {
		pid, _ := eui64.Parse(v.Me.PartyID)
		users, _ = c.svc.ListUsers(ctx(r), v.actor, pid)
	}
	v.Title, v.Data = "Enrol a certificate", enrolData{Users: users, Issued: is}
	c.pages.render(w, status, "enrol.html", v)
	return nil
}

func (c *Console) enrol(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Form = formValues(r)
	fail := func(field string, err error) error {
		v.Err = fieldErr(field, err)
		return c.enrolPage(w, r, v, errorOf(err).status, nil)
	}
	uid, err := raapi.ParseEUI("User ID", trimmed(r, "user_id"))
	if err != nil {
		return fail("user_id", err)
	}
	p, err := ra.ParseProfile(trimmed(r, "profile"))
	if err != nil {
		return fail("profile", err)
	}
	csr, err := upload(r, "csr_file", "csr", ca.MaxCSRSize)
	if err != nil {
		return fail("csr", err)
	}
	is, err := c.svc.Enrol(ctx(r), v.actor, ra.EnrolRequest{UserID: uid, Profile: p, CSR: csr, Mode: ra.ModeEnrol})
	if err != nil {
		field := "csr"
		switch {
		case errors.Is(err, ra.ErrNotEligible):
			field = "profile"
		case errors.Is(err, ra.ErrNotFound), errors.Is(err, ra.ErrForbidden), errors.Is(err, ra.ErrInvalidID):
			field = "user_id"
		}
		return fail(field, err)
	}
	v.Form = nil
	v.Notice = "Certificate " + is.Cert.Serial + " issued."
	return c.enrolPage(w, r, v, http.StatusCreated, &is)
}

// --- certificates and revocation ---

type certsData struct {
	Certs []ra.CertInfo
	Query url.Values
	// Next is the address of the following page ("" on the last), whose
	// listing starts after this page's last serial: built here from
	// url.Values, so the template takes it as a URL.
	Next template.URL
}

// certPageSize is how many certificates the search page lists at once: a
// Supplier has tens of thousands, and the RA lists them in pages.
const certPageSize = 500

func (c *Console) certificates(w http.ResponseWriter, r *http.Request, v *view) error {
	q := r.URL.Query()
	if s := strings.TrimSpace(q.Get("serial")); s != "" {
		http.Redirect(w, r, "/console/certificates/"+url.PathEscape(s), http.StatusSeeOther)
		return nil
	}
	v.Form = map[string]string{"user": q.Get("user"), "party": q.Get("party"), "status": q.Get("status"), "role": q.Get("role"), "expiring": q.Get("expiring")}
	uid, err := raapi.OptEUI("User ID", strings.TrimSpace(q.Get("user")))
	if err != nil {
		v.Err = fieldErr("user", err)
	}
	pid, err := raapi.OptEUI("Party ID", strings.TrimSpace(q.Get("party")))
	if err != nil && v.Err == nil {
		v.Err = fieldErr("party", err)
	}
	var rl role.UserRole
	if s := strings.TrimSpace(q.Get("role")); s != "" && v.Err == nil {
		if rl, err = role.Parse(s); err != nil {
			v.Err = fieldErr("role", fmt.Errorf("%w: %w", ra.ErrInvalidRole, err))
		}
	}
	var expiresBefore time.Time
	if s := strings.TrimSpace(q.Get("expiring")); s != "" && v.Err == nil {
		days, err := strconv.Atoi(s)
		if err != nil || days < 1 || days > 3650 {
			v.Err = fieldErr("expiring", fmt.Errorf("%w: expiring within %q days: give a whole number of days from 1 to 3650", ra.ErrBadRequest, s))
		}
		expiresBefore = c.now().Add(time.Duration(days) * 24 * time.Hour)
	}
	var cs []ra.CertInfo
	var next template.URL
	if v.Err == nil {
		cs, err = c.svc.ListCertificates(ctx(r), v.actor, ra.CertQuery{UserID: uid, PartyID: pid, Status: q.Get("status"),
			Role: string(rl), Limit: c.certPage, After: strings.TrimSpace(q.Get("after")), ExpiresBefore: expiresBefore})
		if err != nil {
			v.Err = fieldErr("user", err)
		}
		if len(cs) == c.certPage {
			nq := url.Values{}
			for _, k := range []string{"user", "party", "status", "role", "expiring"} {
				if val := q.Get(k); val != "" {
					nq.Set(k, val)
				}
			}
			nq.Set("after", cs[len(cs)-1].Serial)
			next = template.URL("/console/certificates?" + nq.Encode())
		}
	}
	v.Title, v.Data = "Certificates", certsData{Certs: cs, Query: q, Next: next}
	status := http.StatusOK
	if v.Err != nil {
		status = v.Err.status
	}
	c.pages.render(w, status, "certificates.html", v)
	return nil
}

func (c *Console) certificate(w http.ResponseWriter, r *http.Request, v *view) error {
	ci, err := c.svc.GetCertificate(ctx(r), v.actor, r.PathValue("serial"))
	if err != nil {
		return err
	}
	v.Title, v.Data = "Certificate "+ci.Serial, ci
	c.pages.render(w, http.StatusOK, "certificate.html", v)
	return nil
}

// certificatePEM downloads the certificate (an audited read, as the API's).
func (c *Console) certificatePEM(w http.ResponseWriter, r *http.Request, v *view) error {
	ci, err := c.svc.GetCertificate(ctx(r), v.actor, r.PathValue("serial"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.Header().Set("Content-Disposition", `attachment; filename="`+ci.Serial+`.pem"`)
	io.WriteString(w, ci.PEM)
	return nil
}

func (c *Console) revoke(w http.ResponseWriter, r *http.Request, v *view) error {
	serial := trimmed(r, "serial")
	reason, err := ra.ParseReason(trimmed(r, "reason"))
	if err == nil {
		_, err = c.svc.Revoke(ctx(r), v.actor, ra.RevokeRequest{Serial: serial, Reason: reason})
	}
	if err != nil {
		ci, gerr := c.svc.GetCertificate(ctx(r), v.actor, serial)
		if gerr != nil {
			return err
		}
		v.Err = fieldErr("reason", err)
		v.Title, v.Data = "Certificate "+ci.Serial, ci
		c.pages.render(w, errorOf(err).status, "certificate.html", v)
		return nil
	}
	http.Redirect(w, r, "/console/certificates/"+url.PathEscape(serial), http.StatusSeeOther)
	return nil
}

type revokePartyData struct {
	Party  string
	Reason string
	Result *ra.RevokeResult
	Done   bool
	// Confirmation is what the dry run's confirm form carries: its
	// revocation runs once, from this officer's dry run (jobs.offer).
	Confirmation string
}

func (c *Console) revokePartyForm(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Form = map[string]string{"party_id": r.URL.Query().Get("party")}
	if ra.IsPartyKind(v.Me.Kind) && v.Form["party_id"] == "" {
		v.Form["party_id"] = v.Me.PartyID
	}
	v.Title, v.Data = "Revoke a party's certificates", revokePartyData{}
	c.pages.render(w, http.StatusOK, "revoke_party.html", v)
	return nil
}

// revokeParty is the two steps of a bulk revocation: without confirm=yes
// a dry run listing what would be revoked, with it (and the dry run's
// confirmation) the revocation, once however often it is sent.
func (c *Console) revokeParty(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Form = formValues(r)
	d := revokePartyData{Party: trimmed(r, "party_id"), Reason: trimmed(r, "reason")}
	v.Title = "Revoke a party's certificates"
	fail := func(field string, err error) error {
		v.Err, v.Data = fieldErr(field, err), d
		c.pages.render(w, errorOf(err).status, "revoke_party.html", v)
		return nil
	}
	pid, err := raapi.ParseEUI("Party ID", d.Party)
	if err != nil {
		return fail("party_id", err)
	}
	reason, err := ra.ParseReason(d.Reason)
	if err != nil {
		return fail("reason", err)
	}
	req := ra.RevokeRequest{PartyID: pid, Reason: reason}
	if r.PostFormValue("confirm") != "yes" {
		res, err := c.svc.Revoke(ctx(r), v.actor, req)
		if err != nil {
			return fail("party_id", err)
		}
		d.Result = &res
		if res.CertificateCount > 0 {
			d.Confirmation = c.jobs.offer(v.Me.ID, req)
		}
		v.Data = d
		c.pages.render(w, http.StatusOK, "revoke_party.html", v)
		return nil
	}
	// The confirmed revocation runs as a job. Until the CA reports its
	// first progress (the selection is authorised and the transaction
	// has begun, as for the API's progress stream) a refusal is shown on
	// this form; from then on the job's progress page shows how it goes.
	req.Yes = true
	j, again, refused := c.jobs.start(ctx(r), c.svc, v.actor, v.Me.ID, r.PostFormValue("confirmation"), req, pid.String(), ra.ReasonName(reason))
	if refused != nil {
		fe := *refused
		fe.Field = "party_id"
		v.Err, v.Data = &fe, d
		c.pages.render(w, fe.status, "revoke_party.html", v)
		return nil
	}
	if again {
		// Sent again (a double click, the back button): it runs once.
		http.Redirect(w, r, "/console/revoke-party/jobs/"+j.ID+"?again=1", http.StatusSeeOther)
		return nil
	}
	select {
	case <-j.started:
		http.Redirect(w, r, "/console/revoke-party/jobs/"+j.ID, http.StatusSeeOther)
		return nil
	case <-j.ended:
	}
	st := j.status()
	if st.Err != nil {
		return fail("party_id", st.Err)
	}
	// Nothing to revoke: the CA was never asked.
	d.Result, d.Done = st.Result, true
	v.Data = d
	v.Notice = st.Text
	c.pages.render(w, http.StatusOK, "revoke_party.html", v)
	return nil
}

// revokeJobPage shows a bulk revocation's progress, refreshing itself
// every jobRefresh seconds while it runs (a <noscript> refresh; with
// script, progress.js polls revokeJobStatus instead), and its result when
// it ended. Only the officer who confirmed it sees it.
func (c *Console) revokeJobPage(w http.ResponseWriter, r *http.Request, v *view) error {
	j, ok := c.jobs.get(v.Me.ID, r.PathValue("id"))
	if !ok {
		return fmt.Errorf("%w: no such bulk revocation of yours (a finished one is kept for %v)", ra.ErrNotFound, jobKeep)
	}
	st := j.status()
	v.Title, v.Data = "Revoking the certificates of party "+st.Party, st
	switch st.State {
	case jobRunning:
		v.Refresh, v.Scripts = jobRefresh, []string{"progress.js"}
	case jobDone:
		v.Notice = st.Text
	case jobFailed:
		v.Err = errorOf(st.Err)
	}
	if r.URL.Query().Get("again") != "" {
		v.Notice = strings.TrimSpace("You had already confirmed this revocation; it runs once, and this is its page. " + v.Notice)
	}
	c.pages.render(w, http.StatusOK, "revoke_job.html", v)
	return nil
}

// revokeJobStatus is the job's status as JSON, for progress.js.
func (c *Console) revokeJobStatus(w http.ResponseWriter, r *http.Request, v *view) error {
	j, ok := c.jobs.get(v.Me.ID, r.PathValue("id"))
	if !ok {
		return fmt.Errorf("%w: no such bulk revocation of yours", ra.ErrNotFound)
	}
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(j.status())
}

// --- SoLR events ---

func (c *Console) solrList(w http.ResponseWriter, r *http.Request, v *view) error {
	return c.solrListPage(w, r, v, http.StatusOK)
}

func (c *Console) solrListPage(w http.ResponseWriter, r *http.Request, v *view, status int) error {
	evs, err := c.svc.ListSoLR(ctx(r), v.actor)
	if err != nil {
		return err
	}
	v.Title, v.Data = "Supplier failure (SoLR events)", evs
	c.pages.render(w, status, "solr.html", v)
	return nil
}

func (c *Console) solrDeclare(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Form = formValues(r)
	fail := func(field string, err error) error {
		v.Err = fieldErr(field, err)
		return c.solrListPage(w, r, v, errorOf(err).status)
	}
	fp, err := raapi.ParseEUI("failed Supplier party", trimmed(r, "failed_party"))
	if err != nil {
		return fail("failed_party", err)
	}
	srp, err := raapi.ParseEUI("SRP user", trimmed(r, "srp_user"))
	if err != nil {
		return fail("srp_user", err)
	}
	start := c.now().UTC()
	if s := trimmed(r, "start"); s != "" {
		if start, err = parseTime(s); err != nil {
			return fail("start", err)
		}
	}
	var revokeAt *time.Time
	if s := trimmed(r, "revoke_at"); s != "" && !strings.EqualFold(s, "now") {
		t, err := parseTime(s)
		if err != nil {
			return fail("revoke_at", err)
		}
		revokeAt = &t
	}
	res, err := c.svc.DeclareSoLR(ctx(r), v.actor, ra.DeclareRequest{FailedParty: fp, SRPUser: srp,
		Instruction: trimmed(r, "instruction"), Start: start, RevokeAt: revokeAt})
	if err != nil {
		return fail("instruction", err)
	}
	http.Redirect(w, r, "/console/solr/"+url.PathEscape(res.Event.ID), http.StatusSeeOther)
	return nil
}

// parseTime reads an RFC 3339 time or the form of an HTML datetime-local
// field (taken as UTC).
func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02 15:04"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%w: time %q: write it as 2026-03-14T09:30 (UTC) or RFC 3339", ra.ErrBadRequest, s)
}

func (c *Console) solrEvent(w http.ResponseWriter, r *http.Request, v *view) error {
	return c.solrEventPage(w, r, v, http.StatusOK)
}

func (c *Console) solrEventPage(w http.ResponseWriter, r *http.Request, v *view, status int) error {
	res, err := c.svc.GetSoLR(ctx(r), v.actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	v.Title, v.Data = "SoLR event "+res.Event.ID, res
	c.pages.render(w, status, "solr_event.html", v)
	return nil
}

// solrApprove approves the dry run the page showed (its
// certificates_sha256, a hidden field): if the failed party's
// certificates changed since, the page comes back with
// E_RA_DRY_RUN_CHANGED and the new dry run to approve.
func (c *Console) solrApprove(w http.ResponseWriter, r *http.Request, v *view) error {
	if _, err := c.svc.ApproveSoLRAsShown(ctx(r), v.actor, r.PathValue("id"), trimmed(r, "certificates_sha256")); err != nil {
		v.Err = fieldErr("approve", err)
		return c.solrEventPage(w, r, v, errorOf(err).status)
	}
	http.Redirect(w, r, "/console/solr/"+url.PathEscape(r.PathValue("id")), http.StatusSeeOther)
	return nil
}

func (c *Console) solrClose(w http.ResponseWriter, r *http.Request, v *view) error {
	if _, err := c.svc.CloseSoLR(ctx(r), v.actor, r.PathValue("id"), trimmed(r, "reason")); err != nil {
		v.Err = fieldErr("close", err)
		return c.solrEventPage(w, r, v, errorOf(err).status)
	}
	http.Redirect(w, r, "/console/solr/"+url.PathEscape(r.PathValue("id")), http.StatusSeeOther)
	return nil
}

// --- ADT files, devices and the SC allow-list ---

func (c *Console) adtList(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Form = map[string]string{"sc": strings.TrimSpace(r.URL.Query().Get("sc"))}
	return c.adtPage(w, r, v, http.StatusOK)
}

func (c *Console) adtPage(w http.ResponseWriter, r *http.Request, v *view, status int) error {
	recs, err := c.svc.ListADT(ctx(r), v.actor)
	if err != nil {
		return err
	}
	if s := v.Val("sc"); s != "" {
		sc, err := raapi.ParseEUI("SC user", s)
		if err != nil {
			return err
		}
		recs = slices.DeleteFunc(recs, func(a ra.ADTRecord) bool { return a.SCUser != sc })
	}
	v.Title, v.Data = "ADT files", recs
	c.pages.render(w, status, "adt.html", v)
	return nil
}

// submitADT takes an ADT file and the officer's detached signature over
// it (openssl dgst -sha256 -sign key.pem, DER): the console never holds
// an officer's key, so the browser cannot sign for them.
func (c *Console) submitADT(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Form = map[string]string{}
	fail := func(field string, err error) error {
		v.Err = fieldErr(field, err)
		return c.adtPage(w, r, v, errorOf(err).status)
	}
	file, err := upload(r, "adt_file", "adt", adtfile.MaxSize)
	if err != nil {
		return fail("adt_file", err)
	}
	sig, err := upload(r, "sig_file", "", 1<<10)
	if err != nil {
		return fail("sig_file", err)
	}
	rec, err := c.svc.SubmitADT(ctx(r), v.actor, file, sig)
	if err != nil {
		field := "adt_file"
		if errors.Is(err, ra.ErrADTSignature) {
			field = "sig_file"
		}
		return fail(field, err)
	}
	v.Form["sc"] = rec.SCUser.String()
	v.Notice = fmt.Sprintf("ADT file for SC user %s and supplier user %s accepted (SHA-256 %s).", rec.SCUser, rec.SupplierUser, rec.SHA256)
	return c.adtPage(w, r, v, http.StatusCreated)
}

// withdrawADT takes one ADT file out of force (the RA decides who may:
// the SC user's party's SROs and AROs, RA operators); it stays listed,
// with its withdrawal. Sent again, the RA's answer is E_RA_INACTIVE.
func (c *Console) withdrawADT(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Form = map[string]string{"sc": trimmed(r, "sc_user")}
	fail := func(err error) error {
		v.Err = fieldErr("withdraw", err)
		return c.adtPage(w, r, v, errorOf(err).status)
	}
	sc, err := raapi.ParseEUI("SC user", trimmed(r, "sc_user"))
	if err != nil {
		return fail(err)
	}
	sup, err := raapi.ParseEUI("supplier user", trimmed(r, "supplier_user"))
	if err != nil {
		return fail(err)
	}
	rec, err := c.svc.WithdrawADT(ctx(r), v.actor, sc, sup, trimmed(r, "reason"))
	if err != nil {
		return fail(err)
	}
	v.Notice = fmt.Sprintf("ADT file for SC user %s and supplier user %s withdrawn: verifiers refuse the pair from their next bundle; the file stays on record.", rec.SCUser, rec.SupplierUser)
	return c.adtPage(w, r, v, http.StatusOK)
}

type devicesData struct {
	Devices []ra.Device // one page (certPage) of those listed
	Total   int         // how many the registry (or the supplier) holds
	Next    template.URL
	Import  *ra.ImportResult
}

func (c *Console) devices(w http.ResponseWriter, r *http.Request, v *view) error {
	return c.devicesPage(w, r, v, strings.TrimSpace(r.URL.Query().Get("supplier")), nil)
}

func (c *Console) devicesPage(w http.ResponseWriter, r *http.Request, v *view, s string, imp *ra.ImportResult) error {
	if v.Form == nil {
		v.Form = map[string]string{}
	}
	v.Form["supplier"] = s
	sup, err := raapi.OptEUI("supplier user", s)
	var ds []ra.Device
	if err == nil && (s != "" || v.IsRA()) {
		ds, err = c.svc.ListDevices(ctx(r), v.actor, sup)
	}
	if err != nil && v.Err == nil {
		v.Err = fieldErr("supplier", err)
	}
	status := http.StatusOK
	if v.Err != nil {
		status = v.Err.status
	}
	// The registry grows to millions: one page at a time, after the
	// device the previous page ended with (the RA lists in device order).
	d := devicesData{Total: len(ds), Import: imp}
	if after := strings.TrimSpace(r.URL.Query().Get("after")); after != "" {
		i, _ := slices.BinarySearchFunc(ds, after, func(d ra.Device, after string) int { return strings.Compare(d.Device.String(), after) })
		for i < len(ds) && ds[i].Device.String() <= after {
			i++
		}
		ds = ds[i:]
	}
	if len(ds) > c.certPage {
		ds = ds[:c.certPage]
		nq := url.Values{"after": {ds[len(ds)-1].Device.String()}}
		if s != "" {
			nq.Set("supplier", s)
		}
		d.Next = template.URL("/console/devices?" + nq.Encode())
	}
	d.Devices = ds
	v.Title, v.Data = "Device registry", d
	c.pages.render(w, status, "devices.html", v)
	return nil
}

// importDevices registers the devices of an uploaded device file (CSV,
// docs/cli.md "devices import"), all or nothing; with dry_run=true (the
// form's "Check the file" button) it is the RA's CheckDevices, as
// `smki devices import --dry-run`: what the import would do, or its
// refusal, and nothing written.
func (c *Console) importDevices(w http.ResponseWriter, r *http.Request, v *view) error {
	data, err := upload(r, "devices_file", "devices", devicefile.MaxSize)
	if err == nil {
		run := c.svc.ImportDevices
		if r.FormValue("dry_run") == "true" {
			run = c.svc.CheckDevices
		}
		var res ra.ImportResult
		if res, err = run(ctx(r), v.actor, data); err == nil {
			v.Notice = res.Summary() + "."
			return c.devicesPage(w, r, v, trimmed(r, "supplier"), &res)
		}
	}
	v.Err = fieldErr("devices_file", err)
	return c.devicesPage(w, r, v, trimmed(r, "supplier"), nil)
}

func (c *Console) allowList(w http.ResponseWriter, r *http.Request, v *view) error {
	return c.allowListPage(w, r, v, http.StatusOK)
}

func (c *Console) allowListPage(w http.ResponseWriter, r *http.Request, v *view, status int) error {
	ls, err := c.svc.Policy(ctx(r), v.actor)
	if err != nil {
		return err
	}
	v.Title, v.Data = "Allow-lists", ls
	c.pages.render(w, status, "allowlist.html", v)
	return nil
}

// setAllowList replaces SC's allow-list with the SRVs typed (separated by
// spaces, commas or lines); the RA checks them.
func (c *Console) setAllowList(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Form = formValues(r)
	srvs := strings.FieldsFunc(r.PostFormValue("srvs"), func(c rune) bool { return c == ',' || c == ' ' || c == '\n' || c == '\r' || c == '\t' })
	if _, err := c.svc.SetAllowList(ctx(r), v.actor, role.SoLRContingency, srvs); err != nil {
		v.Err = fieldErr("srvs", err)
		return c.allowListPage(w, r, v, errorOf(err).status)
	}
	v.Form = nil
	v.Notice = fmt.Sprintf("SC allow-list set: %d SRVs.", len(srvs))
	return c.allowListPage(w, r, v, http.StatusOK)
}

// --- audit ---

type auditData struct {
	Entries []store.AuditEntry
	Report  *ra.AuditReport
}

func (c *Console) audit(w http.ResponseWriter, r *http.Request, v *view) error {
	return c.auditPage(w, r, v, nil)
}

func (c *Console) auditPage(w http.ResponseWriter, r *http.Request, v *view, rep *ra.AuditReport) error {
	q := r.URL.Query()
	v.Form = map[string]string{"actor": q.Get("actor"), "action": q.Get("action"), "party": q.Get("party"),
		"since": q.Get("since"), "until": q.Get("until")}
	aq := ra.AuditQuery{Actor: strings.TrimSpace(q.Get("actor")), Action: strings.TrimSpace(q.Get("action")),
		Subject: strings.TrimSpace(q.Get("party")), Limit: 500}
	var err error
	if s := strings.TrimSpace(q.Get("since")); s != "" {
		if aq.Since, err = parseTime(s); err != nil {
			v.Err = fieldErr("since", err)
		}
	}
	if s := strings.TrimSpace(q.Get("until")); s != "" && v.Err == nil {
		if aq.Until, err = parseTime(s); err != nil {
			v.Err = fieldErr("until", err)
		}
	}
	var es []store.AuditEntry
	if v.Err == nil {
		if es, err = c.svc.AuditLog(ctx(r), v.actor, aq); err != nil {
			if !errors.Is(err, ra.ErrBadRequest) {
				return err
			}
			v.Err = fieldErr("actor", err)
		}
	}
	v.Title, v.Data = "Audit log", auditData{Entries: es, Report: rep}
	status := http.StatusOK
	if v.Err != nil {
		status = v.Err.status
	}
	c.pages.render(w, status, "audit.html", v)
	return nil
}

func (c *Console) verifyAudit(w http.ResponseWriter, r *http.Request, v *view) error {
	rep, err := c.svc.VerifyAudit(ctx(r), v.actor)
	if err != nil && !errors.Is(err, ra.ErrAuditBroken) {
		return err
	}
	return c.auditPage(w, r, v, &rep)
}
