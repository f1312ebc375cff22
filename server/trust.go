package server

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/ca"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/ra/raapi"
	"github.com/smki/smki/ra/raerr"
)

// mountTrust serves GET /v1/trust (raapi.Trust): the root, the issuing CA
// and both CRLs to anyone, as /roots and /crl do, and the signed bundle to
// a caller whose client certificate names an officer allowed to read it
// (the bundle holds the user, party and device registers: it stays behind
// the same authorisation, and audit record, as GET /v1/bundle), with the
// manifest of exactly the files answered.
func mountTrust(mux *http.ServeMux, authority *ca.CA, svc *ra.Service, now func() time.Time) {
	mux.HandleFunc("GET /v1/trust", func(w http.ResponseWriter, r *http.Request) {
		t := raapi.Trust{ExportedAt: now().UTC().Truncate(time.Second),
			Root:       pemOf("CERTIFICATE", authority.Root().Raw),
			IssuingCAs: pemOf("CERTIFICATE", authority.Issuing().Raw)}
		crls := map[string][]byte{}
		for name, dst := range map[string]*string{ca.ARL: &t.ARL, ca.ORL: &t.ORL} {
			der, err := authority.CRL(r.Context(), name)
			if err != nil {
				writeTrustError(w, http.StatusServiceUnavailable, "E_CRL_UNAVAILABLE", "the "+name+" is not available yet; try again shortly")
				return
			}
			*dst, crls[name] = pemOf("X509 CRL", der), der
		}
		var err error
		t.Bundle, t.BundleOmitted, err = trustBundle(r.Context(), r, svc)
		if err != nil {
			writeTrustError(w, http.StatusServiceUnavailable, raerr.CodeOf(err),
				"the RA could not export its bundle now (its store or signer failed); try again shortly")
			return
		}
		var signed []byte
		if t.Bundle != "" {
			signed = []byte(t.Bundle)
		}
		t.Manifest = bundle.NewTrustManifest(bundle.TrustFiles([]byte(t.Root), []byte(t.IssuingCAs), crls[ca.ARL], crls[ca.ORL], signed), t.ExportedAt, "")
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(t)
	})
}

// bundleExporter is what trustBundle needs of the RA (ra.Service).
type bundleExporter interface {
	Authenticate(ctx context.Context, cert *x509.Certificate) (ra.Actor, error)
	ExportBundle(ctx context.Context, a ra.Actor) ([]byte, error)
}

// trustBundle returns the signed bundle for an authorised caller, or why
// it is left out (no credential, one not accepted, an officer who may
// not read it). err is a failure of the RA itself (its store, its
// signer: anything but a refusal of the caller), which must not read as
// a refusal: the answer is then an error to retry, not the public part.
func trustBundle(ctx context.Context, r *http.Request, svc bundleExporter) (bundle, omitted string, err error) {
	var cert *x509.Certificate
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.VerifiedChains[0]) > 0 {
		cert = r.TLS.VerifiedChains[0][0]
	}
	if cert == nil {
		return "", "no officer credential: the bundle carries the RA's user, party and device registers and is given only to an officer who may read it (smki trust export --officer DIR, a verifier officer); this answer is the public part", nil
	}
	a, err := svc.Authenticate(ctx, cert)
	if err != nil {
		if raapi.StatusOf(err) >= http.StatusInternalServerError {
			return "", "", err
		}
		return "", "the officer credential is not accepted: " + err.Error(), nil
	}
	data, err := svc.ExportBundle(ctx, a)
	if err != nil {
		if raapi.StatusOf(err) >= http.StatusInternalServerError {
			return "", "", err
		}
		return "", "this officer may not read the bundle: " + err.Error(), nil
	}
	return string(data), "", nil
}

func pemOf(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

func writeTrustError(w http.ResponseWriter, status int, code, msg string) {
	var eb raapi.ErrorBody
	eb.Error.Code, eb.Error.Message = code, msg
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(eb)
}
