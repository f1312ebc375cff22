package ra

import "net/http"

func (s *server) appointOfficer(w http.ResponseWriter, r *http.Request, a Actor) error {
	var b officerBody
	if err := decode(r, &b); err != nil {
		return err
	}
	pid, err := optEUI("party_id", b.PartyID)
	if err != nil {
		return err
	}
	o, cred, err := s.svc.AppointOfficer(r.Context(), a, OfficerRequest{ID: b.ID, Name: b.Name, Kind: b.Kind, PartyID: pid, CSR: b.CSR})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, officerCreated{Officer: o, Credential: cred})
	return nil
}

func (s *server) listOfficers(w http.ResponseWriter, r *http.Request, a Actor) error {
	pid, err := optEUI("party_id", r.URL.Query().Get("party_id"))
	if err != nil {
		return err
	}
	os, err := s.svc.ListOfficers(r.Context(), a, pid)
	if err != nil {
		return err
	}
	if os == nil {
		os = []Officer{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"officers": os})
	return nil
}

func (s *server) removeOfficer(w http.ResponseWriter, r *http.Request, a Actor) error {
	o, err := s.svc.RemoveOfficer(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, o)
	return nil
}

// renewOfficerCredential: POST /v1/officers/{id}/credential, the caller's
// own renewal or another officer's re-issue (Service.RenewOfficerCredential).
func (s *server) renewOfficerCredential(w http.ResponseWriter, r *http.Request, a Actor) error {
	var b credentialBody
	if err := decode(r, &b); err != nil {
		return err
	}
	o, cred, err := s.svc.RenewOfficerCredential(r.Context(), a, r.PathValue("id"), b.CSR)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, officerCreated{Officer: o, Credential: cred})
	return nil
}
