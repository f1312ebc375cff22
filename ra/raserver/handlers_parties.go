package raserver

import (
	"net/http"

	"github.com/smki/smki/ra"
	"github.com/smki/smki/ra/raapi"
)

func (s *server) whoami(w http.ResponseWriter, r *http.Request, a ra.Actor) error {
	o, err := s.svc.Whoami(r.Context(), a)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, o)
	return nil
}

func (s *server) createParty(w http.ResponseWriter, r *http.Request, a ra.Actor) error {
	var b raapi.PartyBody
	if err := decode(r, &b); err != nil {
		return err
	}
	id, err := reqEUI("id", b.ID)
	if err != nil {
		return err
	}
	p, err := s.svc.CreateParty(r.Context(), a, id, b.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, p)
	return nil
}

func (s *server) setPartyStatus(w http.ResponseWriter, r *http.Request, a ra.Actor) error {
	id, err := reqEUI("party id", r.PathValue("id"))
	if err != nil {
		return err
	}
	var b raapi.PartyStatusBody
	if err := decode(r, &b); err != nil {
		return err
	}
	p, err := s.svc.SetPartyStatus(r.Context(), a, id, b.Status)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (s *server) listParties(w http.ResponseWriter, r *http.Request, a ra.Actor) error {
	ps, err := s.svc.ListParties(r.Context(), a)
	if err != nil {
		return err
	}
	if ps == nil {
		ps = []ra.Party{}
	}
	writeJSON(w, http.StatusOK, raapi.PartyList{Parties: ps})
	return nil
}

func (s *server) getParty(w http.ResponseWriter, r *http.Request, a ra.Actor) error {
	id, err := reqEUI("party id", r.PathValue("id"))
	if err != nil {
		return err
	}
	p, err := s.svc.GetParty(r.Context(), a, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (s *server) createUser(w http.ResponseWriter, r *http.Request, a ra.Actor) error {
	var b raapi.UserBody
	if err := decode(r, &b); err != nil {
		return err
	}
	id, err := reqEUI("id", b.ID)
	if err != nil {
		return err
	}
	pid, err := reqEUI("party_id", b.PartyID)
	if err != nil {
		return err
	}
	ur, err := parseRole(b.Role)
	if err != nil {
		return err
	}
	u, err := s.svc.CreateUser(r.Context(), a, id, pid, ur, b.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, u)
	return nil
}

func (s *server) listUsers(w http.ResponseWriter, r *http.Request, a ra.Actor) error {
	pid, err := optEUI("party_id", r.URL.Query().Get("party_id"))
	if err != nil {
		return err
	}
	us, err := s.svc.ListUsers(r.Context(), a, pid)
	if err != nil {
		return err
	}
	if us == nil {
		us = []ra.User{}
	}
	writeJSON(w, http.StatusOK, raapi.UserList{Users: us})
	return nil
}

// withdrawUser is POST /v1/users/{id}/withdraw (docs/api.md,
// "Withdrawing a User ID"): an absent reason is privilegeWithdrawn.
func (s *server) withdrawUser(w http.ResponseWriter, r *http.Request, a ra.Actor) error {
	id, err := reqEUI("user id", r.PathValue("id"))
	if err != nil {
		return err
	}
	var b raapi.UserWithdrawBody
	if err := decode(r, &b); err != nil {
		return err
	}
	reason := ra.ReasonPrivilegeWithdrawn
	if len(b.Reason) > 0 && string(b.Reason) != "null" {
		if reason, err = parseReasonJSON(b.Reason); err != nil {
			return err
		}
	}
	res, err := s.svc.WithdrawUser(r.Context(), a, id, reason, b.Yes)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}
