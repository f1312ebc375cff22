package server

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"time"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/internal/buildinfo"
	"github.com/smki/smki/ra/raapi"
	"github.com/smki/smki/repo"
	"github.com/smki/smki/store"
)

// mountPublic serves what relying parties fetch without credentials: the
// roots, the issuing CA, the CRLs, and the server's one /healthz.
//
// /healthz says whether the store answers ("status": "ok", else 503
// "unavailable"), whether this instance runs scheduled work ("scheduler":
// "leader" or "standby") and how fresh the ARL and ORL are ("arl",
// "orl": "ok", "stale" past half its lifetime, "expired", "missing"; see
// ca.ARLState): the ARL matters with the root offline, where only a key
// ceremony renews it, the ORL (reissued at half its 24 h) when its
// refresh fails. It also names the
// build ("version", "revision"; see package buildinfo).
//
// /crl/access.crl is the RA access CA's CRL: officer credentials of
// removed officers and superseded credentials, which the TLS layer
// refuses (issue 12 finding 8).
//
// The CRLs are answered by the repository's owner of CRL answers:
// /crl/orl.crl and /crl/arl.crl exactly as /repo/crl/ (repository.CRL),
// /crl/access.crl with the same caching headers (repo.ServeCRL).
func mountPublic(mux *http.ServeMux, st store.Store, authority *ca.CA, sched *scheduler, accessCRL func() []byte, repository *repo.Handler) {
	build := buildinfo.Read()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		err := st.View(r.Context(), func(tx store.Tx) error { _, err := tx.RevocationSeq(); return err })
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			json.NewEncoder(w).Encode(raapi.Health{Status: "unavailable", Scheduler: sched.state()})
			return
		}
		state := func(name string) string {
			if s, err := authority.CRLStatus(r.Context(), name); err == nil {
				return string(s.State)
			}
			return "unknown"
		}
		json.NewEncoder(w).Encode(raapi.Health{Status: "ok", Scheduler: sched.state(), ARL: state(ca.ARL), ORL: state(ca.ORL),
			Version: build.Version, Revision: build.Revision})
	})
	mux.HandleFunc("GET /roots", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/x-pem-file")
		pem.Encode(w, &pem.Block{Type: "CERTIFICATE", Bytes: authority.Root().Raw})
	})
	mux.HandleFunc("GET /ca/issuing.pem", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/x-pem-file")
		pem.Encode(w, &pem.Block{Type: "CERTIFICATE", Bytes: authority.Issuing().Raw})
	})
	mux.HandleFunc("GET /crl/{name}", func(w http.ResponseWriter, r *http.Request) {
		switch r.PathValue("name") {
		case "orl.crl":
			repository.CRL(w, r, ca.ORL)
		case "arl.crl":
			repository.CRL(w, r, ca.ARL)
		case "access.crl":
			der := accessCRL()
			var crl *x509.RevocationList
			err := errNoAccessCRL
			if der != nil {
				crl, err = x509.ParseRevocationList(der)
			}
			if err != nil {
				http.Error(w, "E_CRL_UNAVAILABLE: the RA access CA's CRL is not available yet; retry shortly", http.StatusServiceUnavailable)
				return
			}
			repo.ServeCRL(w, r, der, crl.ThisUpdate, crl.NextUpdate, time.Now())
		default:
			http.NotFound(w, r)
		}
	})
}

// errNoAccessCRL: the RA has no access CRL to serve yet.
var errNoAccessCRL = errors.New("no access CRL")
