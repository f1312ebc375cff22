package raserver

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/smki/smki/ra"
	"github.com/smki/smki/ra/devicefile"
	"github.com/smki/smki/ra/raapi"
)

// solrRoutes registers the SoLR, ADT, device, policy and bundle endpoints.
func (s *server) solrRoutes(mux *http.ServeMux) {
	v1 := func(pattern string, h func(w http.ResponseWriter, r *http.Request, a ra.Actor) error) {
		mux.Handle(pattern, s.authenticated(h))
	}
	v1("POST /v1/solr-events", s.declareSoLR)
	v1("GET /v1/solr-events", s.listSoLR)
	v1("GET /v1/solr-events/{id}", s.getSoLR)
	v1("POST /v1/solr-events/{id}/approve", s.approveSoLR)
	v1("POST /v1/solr-events/{id}/close", s.closeSoLR)
	v1("POST /v1/adt", s.submitADT)
	v1("GET /v1/adt", s.listADT)
	v1("POST /v1/adt/{sc_user}/{supplier_user}/withdraw", s.withdrawADT)
	// A device registry is a file: its own, larger body limit (JSON
	// string escaping and framing add a little to the file's size).
	mux.Handle("POST /v1/devices", s.authenticatedLimit(s.importDevices, devicefile.MaxSize+devicefile.MaxSize/8))
	v1("GET /v1/devices", s.listDevices)
	v1("GET /v1/devices/export", s.exportDevices)
	v1("PUT /v1/policy/allow-lists/{role}", s.setAllowList)
	v1("GET /v1/policy", s.getPolicy)
	v1("GET /v1/bundle", s.bundle)
}

func (s *server) declareSoLR(w http.ResponseWriter, r *http.Request, a ra.Actor) error {
	var b raapi.DeclareBody
	if err := decode(r, &b); err != nil {
		return err
	}
	var req ra.DeclareRequest
	var err error
	if req.FailedParty, err = reqEUI("failed_party", b.FailedParty); err != nil {
		return err
	}
	if req.SRPUser, err = reqEUI("srp_user", b.SRPUser); err != nil {
		return err
	}
	req.Instruction = b.Instruction
	start, err := optTime("start", b.Start)
	if err != nil {
		return err
	}
	if start != nil {
		req.Start = *start
	}
	if req.End, err = optTime("end", b.End); err != nil {
		return err
	}
	if req.RevokeAt, err = revokeAtTime(b.RevokeAt); err != nil {
		return err
	}
	res, err := s.svc.DeclareSoLR(r.Context(), a, req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, res)
	return nil
}

func (s *server) listSoLR(w http.ResponseWriter, r *http.Request, a ra.Actor) error {
	es, err := s.svc.ListSoLR(r.Context(), a)
	if err != nil {
		return err
	}
	if es == nil {
		es = []ra.SoLREvent{}
	}
	writeJSON(w, http.StatusOK, raapi.EventList{Events: es})
	return nil
}

func (s *server) getSoLR(w http.ResponseWriter, r *http.Request, a ra.Actor) error {
	res, err := s.svc.GetSoLR(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// approveSoLR takes an optional body (raapi.ApproveBody): clients before
// it sent none, and approve the certificates as they stand.
func (s *server) approveSoLR(w http.ResponseWriter, r *http.Request, a ra.Actor) error {
	var b raapi.ApproveBody
	if err := decodeOptional(r, &b); err != nil {
		return err
	}
	res, err := s.svc.ApproveSoLRAsShown(r.Context(), a, r.PathValue("id"), b.CertificatesSHA256)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *server) closeSoLR(w http.ResponseWriter, r *http.Request, a ra.Actor) error {
	var b raapi.CloseBody
	if err := decode(r, &b); err != nil {
		return err
	}
	e, err := s.svc.CloseSoLR(r.Context(), a, r.PathValue("id"), b.Reason)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, e)
	return nil
}

func (s *server) submitADT(w http.ResponseWriter, r *http.Request, a ra.Actor) error {
	var b raapi.AdtBody
	if err := decode(r, &b); err != nil {
		return err
	}
	rec, err := s.svc.SubmitADT(r.Context(), a, b.File, b.Signature)
	if err != nil {
		return err
	}
	rec.File, rec.Signature, rec.SignerCert = nil, nil, nil
	writeJSON(w, http.StatusCreated, rec)
	return nil
}

func (s *server) listADT(w http.ResponseWriter, r *http.Request, a ra.Actor) error {
	rs, err := s.svc.ListADT(r.Context(), a)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, raapi.ADTList{ADT: rs})
	return nil
}

// withdrawADT is POST /v1/adt/{sc_user}/{supplier_user}/withdraw
// (docs/adt.md, "Withdrawing a file").
func (s *server) withdrawADT(w http.ResponseWriter, r *http.Request, a ra.Actor) error {
	sc, err := reqEUI("sc_user", r.PathValue("sc_user"))
	if err != nil {
		return err
	}
	sup, err := reqEUI("supplier_user", r.PathValue("supplier_user"))
	if err != nil {
		return err
	}
	var b raapi.ADTWithdrawBody
	if err := decode(r, &b); err != nil {
		return err
	}
	rec, err := s.svc.WithdrawADT(r.Context(), a, sc, sup, b.Reason)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rec)
	return nil
}

// importDevices takes the file as text/csv, read once into memory, or in
// the JSON form, whose decoding holds the body, the decoder's copy and the
// unescaped string at once: about three times a 48 MiB file.
func (s *server) importDevices(w http.ResponseWriter, r *http.Request, a ra.Actor) error {
	do := s.svc.ImportDevices
	switch q := r.URL.Query().Get("dry_run"); q {
	case "", "false":
	case "true":
		do = s.svc.CheckDevices
	default:
		return fmt.Errorf("%w: dry_run %q, want true or false", ra.ErrBadRequest, q)
	}
	var data []byte
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == raapi.MediaCSV {
		var err error
		if data, err = io.ReadAll(r.Body); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return fmt.Errorf("%w: body over %d bytes", ra.ErrTooLarge, mbe.Limit)
			}
			return fmt.Errorf("%w: reading the body: %v", ra.ErrBadRequest, err)
		}
	} else {
		var b raapi.DevicesBody
		if err := decode(r, &b); err != nil {
			return err
		}
		data = []byte(b.CSV)
	}
	res, err := do(r.Context(), a, data)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *server) listDevices(w http.ResponseWriter, r *http.Request, a ra.Actor) error {
	sup, err := optEUI("supplier", r.URL.Query().Get("supplier"))
	if err != nil {
		return err
	}
	ds, err := s.svc.ListDevices(r.Context(), a, sup)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, raapi.DeviceList{Devices: ds})
	return nil
}

// exportDevices answers the device file of the registry (text/csv), as
// smki devices import reads it.
func (s *server) exportDevices(w http.ResponseWriter, r *http.Request, a ra.Actor) error {
	sup, err := optEUI("supplier", r.URL.Query().Get("supplier"))
	if err != nil {
		return err
	}
	data, err := s.svc.ExportDevices(r.Context(), a, sup)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", raapi.MediaCSV+"; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
	return nil
}

func (s *server) setAllowList(w http.ResponseWriter, r *http.Request, a ra.Actor) error {
	var b raapi.AllowListBody
	if err := decode(r, &b); err != nil {
		return err
	}
	rl, err := parseRole(strings.ToUpper(r.PathValue("role")))
	if err != nil {
		return err
	}
	l, err := s.svc.SetAllowList(r.Context(), a, rl, b.SRVs)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, l)
	return nil
}

func (s *server) getPolicy(w http.ResponseWriter, r *http.Request, a ra.Actor) error {
	ls, err := s.svc.Policy(r.Context(), a)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, raapi.AllowLists{AllowLists: ls})
	return nil
}

// bundle serves the signed envelope as is (its bytes are what is signed),
// or 304 Not Modified when If-None-Match names a copy still good
// (ra.ExportBundleIf); certificates=omit leaves the end-entity
// certificates out (docs/bundle.md, "Certificates").
func (s *server) bundle(w http.ResponseWriter, r *http.Request, a ra.Actor) error {
	certs := ra.BundleEmbedded
	switch q := r.URL.Query()["certificates"]; {
	case len(q) == 0 || len(q) == 1 && q[0] == "embed":
	case len(q) == 1 && q[0] == "omit":
		certs = ra.BundleOmitted
	default:
		return fmt.Errorf("%w: certificates=%q: want embed (the default: every end-entity certificate, for offline use) or omit (none: the verifier looks signers up in the repository)", ra.ErrBadRequest, strings.Join(q, ","))
	}
	ans, err := s.svc.ExportBundleIf(r.Context(), a, r.Header.Get("If-None-Match"), certs)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("ETag", ans.ETag)
	if ans.NotModified {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(ans.Data)
	if err != nil {
		return nil // the client went away; nothing to answer
	}
	return nil
}
