package certcmd

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/internal/dccx509"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/raclient"
)

// maxResendLookups bounds the certificates smki enroll downloads to find
// the one an earlier attempt issued (a user holds a handful).
const maxResendLookups = 50

// alreadyIssued is what smki enroll does when the RA refuses an
// enrolment as a repeat: an enrol whose key is already certified
// (E_RA_KEY_REUSE), a renew or rekey whose certificate was already
// replaced (E_RA_REPLACES_MISMATCH). That is what the same command sent
// again gets after its first answer was lost (a timeout after the RA
// issued; docs/api.md), and the user holds a key whose certificate they
// were never given. alreadyIssued looks among the user's certificates for
// the one that request made: of this user and profile, good, certifying
// the CSR's key, and for a renew or rekey issued since the certificate it
// replaces. If exactly one fits, it is returned (with its PEM) and ok is
// true. Otherwise the refusal is returned, naming the certificates that
// hold the key and how to fetch them, or as it was when nothing fits or
// the certificates cannot be read.
func alreadyIssued(ctx context.Context, cl *raclient.Client, req ra.EnrolRequest, refusal error) (ra.CertInfo, bool, error) {
	mode := req.Mode
	if mode == "" {
		mode = ra.ModeEnrol
	}
	var ae *raclient.APIError
	if !errors.As(refusal, &ae) ||
		!(mode == ra.ModeEnrol && errors.Is(refusal, ra.ErrKeyReuse) ||
			(mode == ra.ModeRenew || mode == ra.ModeRekey) && errors.Is(refusal, ra.ErrReplaced)) {
		return ra.CertInfo{}, false, refusal
	}
	csr, err := ca.ParseCSR(req.CSR)
	if err != nil {
		return ra.CertInfo{}, false, refusal
	}
	certs, err := cl.ListCertificates(ctx, ra.CertQuery{UserID: req.UserID})
	if err != nil {
		return ra.CertInfo{}, false, refusal
	}
	var replaced *ra.CertInfo
	if mode != ra.ModeEnrol {
		for i := range certs {
			if strings.EqualFold(certs[i].Serial, req.Replaces) {
				r := certs[i]
				replaced = &r
			}
		}
		if replaced == nil || replaced.Status != "good" {
			// Not a resend: the certificate named is not this user's
			// good one. The RA's refusal says what is wrong.
			return ra.CertInfo{}, false, refusal
		}
	}
	// The list carries no PEM: download the user's certificates of the
	// profile, newest first, to compare their keys with the CSR's.
	certs = slices.DeleteFunc(certs, func(ci ra.CertInfo) bool { return ci.Profile != string(req.Profile) })
	slices.SortStableFunc(certs, func(a, b ra.CertInfo) int { return b.NotBefore.Compare(a.NotBefore) })
	var holders []string // serials of the user's certificates of this key
	var fits []ra.CertInfo
	for _, ci := range certs[:min(len(certs), maxResendLookups)] {
		full, err := cl.GetCertificate(ctx, ci.Serial)
		if err != nil || !sameKey(full.PEM, csr) {
			continue
		}
		holders = append(holders, full.Serial)
		if full.Status != "good" {
			continue
		}
		if replaced != nil && (strings.EqualFold(full.Serial, replaced.Serial) || full.NotBefore.Before(replaced.NotBefore)) {
			continue
		}
		fits = append(fits, full)
	}
	if len(fits) == 1 && (mode != ra.ModeEnrol || len(holders) == 1) {
		return fits[0], true, nil
	}
	if len(holders) == 0 {
		return ra.CertInfo{}, false, refusal
	}
	hinted := *ae
	hinted.Message = fmt.Sprintf("%s. This CSR's key is certified for user %s as serial %s: fetch the one you need with "+
		"smki cert get --serial SERIAL --out FILE", strings.TrimRight(ae.Message, ". "), req.UserID, strings.Join(holders, ", "))
	return ra.CertInfo{}, false, &hinted
}

// sameKey reports whether the certificate in certPEM certifies csr's key.
func sameKey(certPEM string, csr *x509.CertificateRequest) bool {
	b, _ := pem.Decode([]byte(certPEM))
	if b == nil {
		return false
	}
	c, err := dccx509.ParseCertificate(b.Bytes) // the subject's x500UniqueIdentifier is a BIT STRING
	if err != nil {
		return false
	}
	k, ok := c.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(csr.PublicKey)
}
