package verifycmd

import (
	"crypto/x509"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/smki/smki/internal/credential"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/verifier"
)

// feedHeaderTimeout bounds how long a follower waits for the RA's answer
// headers: the RA holds a feed request for ra.DefaultFeedWait, so this
// leaves room for that and a slow network, and still notices a dead
// connection. Bodies (a bundle can be large) are not timed.
const feedHeaderTimeout = ra.DefaultFeedWait + 30*time.Second

// raFollower returns a Follower of the RA at raURL for v, over mTLS with
// the credential in officerDir: cert.pem and key.pem are the client
// certificate (an officer, normally of kind "verifier"), ca.pem is the RA
// access root that verifies the RA's TLS certificate. The transport only
// authenticates the verifier to the RA: what it receives is still opened
// against roots (the SMKI root), never trusted for arriving over TLS.
func raFollower(raURL, officerDir string, v *verifier.Verifier, roots *x509.CertPool, interval time.Duration, log *slog.Logger) (*verifier.Follower, error) {
	u, err := url.Parse(raURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, configErr("--ra %q: want https://host[:port] (the RA serves only HTTPS with client certificates)", raURL)
	}
	if officerDir == "" {
		return nil, configErr("--ra needs --officer DIR: the RA serves its bundle and feed only to an authenticated credential")
	}
	cfg, err := credential.ClientTLS(officerDir)
	if err != nil {
		return nil, configErr("--officer %s: not a usable credential directory (cert.pem, key.pem, ca.pem): %v", officerDir, err)
	}
	client := &http.Client{Transport: &http.Transport{
		// Behind a corporate proxy (HTTPS_PROXY, NO_PROXY), as the client
		// verbs (raclient): CONNECT, TLS end to end with the RA.
		Proxy:                 http.ProxyFromEnvironment,
		TLSClientConfig:       cfg,
		ResponseHeaderTimeout: feedHeaderTimeout,
		TLSHandshakeTimeout:   10 * time.Second,
		IdleConnTimeout:       2 * feedHeaderTimeout,
		ForceAttemptHTTP2:     true,
	}}
	// Compact: the bundle's size does not grow with the certificates
	// issued; the verifier built with this Follower as its Source looks
	// signers up in the RA's repository (docs/verifier.md).
	return &verifier.Follower{Verifier: v, BaseURL: raURL, Client: client, Roots: roots,
		BundleInterval: interval, Logger: log, Compact: true}, nil
}
