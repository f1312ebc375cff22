package raserver

import (
	"net/http"

	"github.com/smki/smki/ra"
	"github.com/smki/smki/ra/raapi"
)

// signerRoutes registers the RA's own four-eyes procedure for revoking
// its signer certificates (ra/signerrev.go).
func (s *server) signerRoutes(mux *http.ServeMux) {
	mux.Handle("POST /v1/signer-revocations", s.authenticated(s.requestSignerRevocation))
	mux.Handle("GET /v1/signer-revocations", s.authenticated(s.listSignerRevocations))
	mux.Handle("POST /v1/signer-revocations/{id}/approve", s.authenticated(s.approveSignerRevocation))
}

func (s *server) requestSignerRevocation(w http.ResponseWriter, r *http.Request, a ra.Actor) error {
	var b raapi.SignerRevocationBody
	if err := decode(r, &b); err != nil {
		return err
	}
	reason, err := parseReasonJSON(b.Reason)
	if err != nil {
		return err
	}
	res, err := s.svc.RequestSignerRevocation(r.Context(), a, b.Serial, reason)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, res)
	return nil
}

func (s *server) listSignerRevocations(w http.ResponseWriter, r *http.Request, a ra.Actor) error {
	rs, err := s.svc.ListSignerRevocations(r.Context(), a)
	if err != nil {
		return err
	}
	if rs == nil {
		rs = []ra.SignerRevocation{}
	}
	writeJSON(w, http.StatusOK, raapi.SignerRevocationList{Requests: rs})
	return nil
}

func (s *server) approveSignerRevocation(w http.ResponseWriter, r *http.Request, a ra.Actor) error {
	res, err := s.svc.ApproveSignerRevocation(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}
