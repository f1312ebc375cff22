package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/smki/smki/ra"
	"github.com/smki/smki/ra/raerr"
)

// fakeExporter answers Authenticate and ExportBundle with fixed errors.
type fakeExporter struct{ authErr, exportErr error }

func (f fakeExporter) Authenticate(context.Context, *x509.Certificate) (ra.Actor, error) {
	return ra.Actor{}, f.authErr
}

func (f fakeExporter) ExportBundle(context.Context, ra.Actor) ([]byte, error) {
	if f.exportErr != nil {
		return nil, f.exportErr
	}
	return []byte("signed bundle"), nil
}

// TestTrustBundleFailureIsNotARefusal: GET /v1/trust leaves the bundle
// out, with the reason, when the caller is refused (no credential, one
// not accepted, an officer who may not read it); when the RA itself fails
// (its store, its signer), that is an error to retry, not a refusal
// (which smki trust export reports as a usage error).
func TestTrustBundleFailureIsNotARefusal(t *testing.T) {
	t.Parallel()
	withCert := httptest.NewRequest("GET", "/v1/trust", nil)
	withCert.TLS = &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{{}}}}
	for _, tc := range []struct {
		name          string
		svc           fakeExporter
		noCert        bool
		bundle        string
		omitted, code string // omitted: a prefix of the reason; code: the error's
	}{
		{name: "no credential", noCert: true, omitted: "no officer credential"},
		{name: "not accepted", svc: fakeExporter{authErr: fmt.Errorf("%w: revoked", raerr.ErrUnauthenticated)}, omitted: "the officer credential is not accepted"},
		{name: "may not read", svc: fakeExporter{exportErr: fmt.Errorf("%w: an SRO", raerr.ErrForbidden)}, omitted: "this officer may not read the bundle"},
		{name: "store fails authenticating", svc: fakeExporter{authErr: errors.New("connection refused")}, code: "E_RA_INTERNAL"},
		{name: "signer fails", svc: fakeExporter{exportErr: fmt.Errorf("%w: token removed", raerr.ErrSigner)}, code: "E_RA_SIGNER"},
		{name: "exported", bundle: "signed bundle"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := withCert
			if tc.noCert {
				r = httptest.NewRequest("GET", "/v1/trust", nil)
			}
			b, omitted, err := trustBundle(context.Background(), r, tc.svc)
			switch {
			case tc.code != "":
				if err == nil || raerr.CodeOf(err) != tc.code || b != "" || omitted != "" {
					t.Errorf("bundle %q, omitted %q, err %v; want error %s", b, omitted, err, tc.code)
				}
			case err != nil || b != tc.bundle || !strings.HasPrefix(omitted, tc.omitted) || (tc.omitted == "") != (omitted == ""):
				t.Errorf("bundle %q, omitted %q, err %v; want bundle %q, omitted %q...", b, omitted, err, tc.bundle, tc.omitted)
			}
		})
	}
}
