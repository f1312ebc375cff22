package demo

import (
	"context"
	"crypto/x509"
	"fmt"
	"strings"
	"time"

	"github.com/smki/smki/bundle"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/internal/credential"
	"github.com/smki/smki/internal/dccx509"
	"github.com/smki/smki/verifier"
)

// stepVerifier builds the command-path verifier as a relying party would:
// trust only the SMKI root from /roots, open the signed bundle against
// it, load the CRLs, and follow the RA's bundle and revocation feed over
// mTLS with a verifier-kind credential (which may read nothing else).
func (d *night) stepVerifier(ctx context.Context, s *Step) error {
	rootPEM, err := d.get(ctx, "/roots")
	if err != nil {
		return err
	}
	roots, err := dccx509.ParsePEM(rootPEM)
	if err != nil {
		return fmt.Errorf("/roots: %w", err)
	}
	issPEM, err := d.get(ctx, "/ca/issuing.pem")
	if err != nil {
		return err
	}
	inter, err := dccx509.ParsePEM(issPEM)
	if err != nil {
		return fmt.Errorf("/ca/issuing.pem: %w", err)
	}
	var crls [][]byte
	for _, name := range []string{"arl", "orl"} {
		der, err := d.get(ctx, "/crl/"+name+".crl")
		if err != nil {
			return err
		}
		crls = append(crls, der)
	}
	pool := x509.NewCertPool()
	for _, r := range roots {
		pool.AddCert(r)
	}
	vc, err := d.as("verifier-1")
	if err != nil {
		return err
	}
	raw, err := vc.Bundle(ctx)
	if err != nil {
		return err
	}
	b, err := bundle.Open(raw, pool, d.clock())
	if err != nil {
		return fmt.Errorf("the bundle does not open against the SMKI root: %w", err)
	}
	v, err := verifier.New(verifier.Options{Roots: roots, Intermediates: inter, Bundle: b, CRLs: crls, Clock: d.clock})
	if err != nil {
		return err
	}
	d.v, d.bundleSeq, d.counters = v, v.RevocationSeq(), map[eui64.ID]uint64{}
	revoked := map[string]bool{}
	for _, r := range b.Revoked {
		revoked[normSerial(r.Serial)] = true
	}
	d.inBundle = len(d.certsA) > 0
	for _, sn := range d.certsA {
		d.inBundle = d.inBundle && revoked[normSerial(sn)]
	}

	tlsCfg, err := credential.ClientTLS(d.officerDir("verifier-1"))
	if err != nil {
		return err
	}
	d.feed = make(chan uint64, 64)
	d.follower = &verifier.Follower{Verifier: v, BaseURL: d.url, Roots: pool, BundleInterval: time.Hour,
		RetryDelay: 500 * time.Millisecond, Client: httpClient(tlsCfg),
		OnRevocations: func(seq uint64) {
			select {
			case d.feed <- seq:
			default:
			}
		}}
	fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	d.stopFollow, d.followDone = cancel, make(chan struct{})
	go func() { defer close(d.followDone); _ = d.follower.Run(fctx) }()

	s.Detail = fmt.Sprintf("bundle issued %s opened against the SMKI root; feed followed from seq %d", b.IssuedAt.Format("15:04:05.000Z"), d.bundleSeq)
	s.Lines = []string{
		fmt.Sprintf("root %s; issuing CA %s; CRLs: ARL, ORL", roots[0].Subject, inter[0].Subject),
		fmt.Sprintf("bundle: %d users, %d devices, %d SoLR event(s) (%s), %d ADT scope(s), %d certificates, SC allow-list %v",
			len(b.Users), len(b.Devices), len(b.SoLREvents), eventStates(b), len(b.ADT), len(b.Certificates), b.AllowLists["SC"]),
		"follower: GET /v1/bundle and long-poll /v1/revocations over mTLS as verifier-1 (kind verifier)",
	}
	return nil
}

func eventStates(b *bundle.Bundle) string {
	var s []string
	for _, e := range b.SoLREvents {
		s = append(s, string(e.State))
	}
	return strings.Join(s, ",")
}
