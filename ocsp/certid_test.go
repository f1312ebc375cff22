package ocsp

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"fmt"
	"math/big"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"
)

// TestResponseCertIDMatchesRequest: the CertID of a response's
// SingleResponse is the request's, hash algorithm included (RFC 6960
// 4.2.1); a relying party (openssl) matches the answer to its question by
// the whole CertID and finds no status in an answer about a SHA-1 CertID
// when it asked with SHA-256. For each hash the responder accepts, a
// good, a revoked and a never-issued serial are answered with the
// request's hash, by POST and GET, also after the same serial was asked
// with another hash. A Published responder, which holds only the RA's
// pre-signed SHA-1 responses and cannot sign, answers another hash
// "unauthorized" (RFC 5019 2.2.3), never a response about another CertID.
func TestResponseCertIDMatchesRequest(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	a, b := p.issue(701), p.issue(702)
	p.revoke(b, 1, p.now.Add(-time.Minute))
	r, pub := p.publishing(t)
	never := &x509.Certificate{SerialNumber: big.NewInt(999997), RawIssuer: p.cert.RawSubject}
	for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA384, crypto.SHA512, crypto.SHA1} {
		for _, tc := range []struct {
			c    *x509.Certificate
			want int
		}{{a, xocsp.Good}, {b, xocsp.Revoked}, {never, xocsp.Unknown}} {
			for _, get := range []bool{false, true} {
				name := fmt.Sprintf("%v serial %x get=%v", h, tc.c.SerialNumber, get)
				der, err := xocsp.CreateRequest(tc.c, p.cert, &xocsp.RequestOptions{Hash: h})
				if err != nil {
					t.Fatal(err)
				}
				rec := do(r.Handler(), der, get)
				resp, err := xocsp.ParseResponse(rec.Body.Bytes(), p.cert)
				if err != nil {
					t.Fatalf("%s: HTTP %d: %v", name, rec.Code, err)
				}
				if resp.Status != tc.want || resp.SerialNumber.Cmp(tc.c.SerialNumber) != 0 {
					t.Errorf("%s: status %d serial %x, want %d", name, resp.Status, resp.SerialNumber, tc.want)
				}
				if resp.IssuerHash != h {
					t.Errorf("%s: response CertID hashed with %v, request with %v", name, resp.IssuerHash, h)
				}
				if tc.want == xocsp.Unknown {
					continue
				}
				prec := do(pub.Handler(), der, get)
				presp, err := xocsp.ParseResponse(prec.Body.Bytes(), p.cert)
				switch {
				case h == crypto.SHA1 && err != nil:
					t.Errorf("%s: published: %v", name, err)
				case h == crypto.SHA1 && !bytes.Equal(prec.Body.Bytes(), rec.Body.Bytes()):
					t.Errorf("%s: published bytes differ from the responder's", name)
				case h != crypto.SHA1 && !isStatus(err, xocsp.Unauthorized):
					t.Errorf("%s: published: HTTP %d, %v, CertID hash %v, want unauthorized", name, prec.Code, err, hashOf(presp))
				}
			}
		}
	}
}

func hashOf(r *xocsp.Response) crypto.Hash {
	if r == nil {
		return 0
	}
	return r.IssuerHash
}
