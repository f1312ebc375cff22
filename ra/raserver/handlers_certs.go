package raserver

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/smki/smki/ra"
	"github.com/smki/smki/ra/raapi"
)

func (s *server) enrol(w http.ResponseWriter, r *http.Request, a ra.Actor) error {
	var b raapi.EnrolBody
	if err := decode(r, &b); err != nil {
		return err
	}
	uid, err := reqEUI("user_id", b.UserID)
	if err != nil {
		return err
	}
	p, err := ra.ParseProfile(b.Profile)
	if err != nil {
		return err
	}
	csr, err := raapi.ParseCSRField(b.CSR)
	if err != nil {
		return err
	}
	mode := ra.EnrolMode(b.Mode)
	if mode == "" {
		mode = ra.ModeEnrol
	}
	is, err := s.svc.Enrol(r.Context(), a, ra.EnrolRequest{UserID: uid, Profile: p, CSR: csr, Mode: mode, Replaces: b.Replaces})
	if err != nil {
		return err
	}
	s.m.issued.WithLabelValues(string(p), string(mode)).Inc()
	writeJSON(w, http.StatusCreated, raapi.EnrolResult{Certificate: is.Cert, PEM: string(is.CertPEM)})
	return nil
}

func (s *server) revoke(w http.ResponseWriter, r *http.Request, a ra.Actor) error {
	var b raapi.RevokeBody
	if err := decode(r, &b); err != nil {
		return err
	}
	uid, err := optEUI("user_id", b.UserID)
	if err != nil {
		return err
	}
	pid, err := optEUI("party_id", b.PartyID)
	if err != nil {
		return err
	}
	reason, err := parseReasonJSON(b.Reason)
	if err != nil {
		return err
	}
	// JSON, or NDJSON with progress lines if asked for (revoke_stream.go).
	return s.answerRevoke(w, r, a, ra.RevokeRequest{Serial: b.Serial, UserID: uid, PartyID: pid, Reason: reason, Yes: b.Yes, DryRun: b.DryRun})
}

func (s *server) listCertificates(w http.ResponseWriter, r *http.Request, a ra.Actor) error {
	q := r.URL.Query()
	uid, err := optEUI("user_id", q.Get("user_id"))
	if err != nil {
		return err
	}
	pid, err := optEUI("party_id", q.Get("party_id"))
	if err != nil {
		return err
	}
	limit := CertPageSize
	if l := q.Get("limit"); l != "" {
		if limit, err = strconv.Atoi(l); err != nil || limit < 1 || limit > MaxCertPageSize {
			return fmt.Errorf("%w: limit %q: give a page size from 1 to %d", ra.ErrBadRequest, l, MaxCertPageSize)
		}
	}
	// One more than the page tells whether another page follows.
	cs, err := s.svc.ListCertificates(r.Context(), a, ra.CertQuery{UserID: uid, PartyID: pid, Status: q.Get("status"),
		Limit: limit + 1, After: q.Get("after")})
	if err != nil {
		return err
	}
	page := raapi.CertificateList{Certificates: cs}
	if len(cs) > limit {
		page.Certificates = cs[:limit]
		page.Next = cs[limit-1].Serial
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// GET /v1/certificates answers at most CertPageSize certificates unless
// limit= asks for another page size, at most MaxCertPageSize (issue 20:
// one unpaged answer at 50,000 certificates was 16 MiB).
const (
	CertPageSize    = 1000
	MaxCertPageSize = 5000
)

func (s *server) getCertificate(w http.ResponseWriter, r *http.Request, a ra.Actor) error {
	c, err := s.svc.GetCertificate(r.Context(), a, r.PathValue("serial"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (s *server) verifyAudit(w http.ResponseWriter, r *http.Request, a ra.Actor) error {
	rep, err := s.svc.VerifyAudit(r.Context(), a)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}
