package raserver

import (
	"net/http"

	"github.com/smki/smki/ra"
	"github.com/smki/smki/ra/raapi"
)

func (s *server) appointOfficer(w http.ResponseWriter, r *http.Request, a ra.Actor) error {
	var b raapi.OfficerBody
	if err := decode(r, &b); err != nil {
		return err
	}
	pid, err := optEUI("party_id", b.PartyID)
	if err != nil {
		return err
	}
	o, cred, err := s.svc.AppointOfficer(r.Context(), a, ra.OfficerRequest{ID: b.ID, Name: b.Name, Kind: b.Kind, PartyID: pid, CSR: b.CSR})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, raapi.OfficerCreated{Officer: o, Credential: cred})
	return nil
}

func (s *server) listOfficers(w http.ResponseWriter, r *http.Request, a ra.Actor) error {
	pid, err := optEUI("party_id", r.URL.Query().Get("party_id"))
	if err != nil {
		return err
	}
	os, err := s.svc.ListOfficers(r.Context(), a, pid)
	if err != nil {
		return err
	}
	if os == nil {
		os = []ra.Officer{}
	}
	writeJSON(w, http.StatusOK, raapi.OfficerList{Officers: os})
	return nil
}

func (s *server) removeOfficer(w http.ResponseWriter, r *http.Request, a ra.Actor) error {
	o, err := s.svc.RemoveOfficer(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, o)
	return nil
}

// setOfficerStatus: POST /v1/officers/{id}/status, suspend or reinstate
// (Service.SetOfficerStatus).
func (s *server) setOfficerStatus(w http.ResponseWriter, r *http.Request, a ra.Actor) error {
	var b raapi.OfficerStatusBody
	if err := decode(r, &b); err != nil {
		return err
	}
	o, err := s.svc.SetOfficerStatus(r.Context(), a, r.PathValue("id"), b.Status)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, o)
	return nil
}

// renewOfficerCredential: POST /v1/officers/{id}/credential, the caller's
// own renewal or another officer's re-issue (Service.RenewOfficerCredential).
func (s *server) renewOfficerCredential(w http.ResponseWriter, r *http.Request, a ra.Actor) error {
	var b raapi.CredentialBody
	if err := decode(r, &b); err != nil {
		return err
	}
	o, cred, err := s.svc.RenewOfficerCredential(r.Context(), a, r.PathValue("id"), b.CSR)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, raapi.OfficerCreated{Officer: o, Credential: cred})
	return nil
}
