package ra

import (
	"context"
	"crypto/x509"
	"errors"
	"regexp"
	"strconv"
	"testing"

	"github.com/smki/smki/ra/ratest"
)

// TestFinding8AccessCRLAndCoalescedRefusals is issue 12's finding 8 at the
// RA: removing an officer and renewing a credential put the retired
// serials on the access CA's signed CRL at once; CheckAccess (the TLS
// layer's check) refuses them; and refusals of one credential are audited
// as few records whose counts add up to the refusals.
func TestFinding8AccessCRLAndCoalescedRefusals(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	ctx := context.Background()
	if err := s.svc.RefreshAccess(ctx); err != nil {
		t.Fatal(err)
	}
	sro, _ := parseCertPEM(s.cred["sro-a"].CertPEM)
	aro, _ := parseCertPEM(s.cred["aro-a"].CertPEM)
	if err := s.svc.CheckAccess(ctx, sro); err != nil {
		t.Fatalf("active officer refused at TLS: %v", err)
	}
	if _, _, err := s.svc.RenewOfficerCredential(ctx, s.sroSup, "sro-a", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.svc.RemoveOfficer(ctx, s.admin, "aro-a"); err != nil {
		t.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(s.svc.AccessCRL())
	if err != nil {
		t.Fatal(err)
	}
	if err := crl.CheckSignatureFrom(s.svc.Access().Root()); err != nil {
		t.Fatalf("access CRL not signed by the access root: %v", err)
	}
	reasons := map[string]int{}
	for _, e := range crl.RevokedCertificateEntries {
		reasons[e.SerialNumber.Text(16)] = e.ReasonCode
	}
	for _, tt := range []struct {
		name   string
		cert   *x509.Certificate
		reason int
	}{{"superseded by a renewal", sro, 4}, {"officer removed", aro, 3}} {
		if got, ok := reasons[tt.cert.SerialNumber.Text(16)]; !ok || got != tt.reason {
			t.Errorf("%s: on the CRL %v with reason %d; want reason %d", tt.name, ok, got, tt.reason)
		}
		if err := s.svc.CheckAccess(ctx, tt.cert); !errors.Is(err, ErrOfficerInactive) {
			t.Errorf("%s: CheckAccess = %v; want E_RA_OFFICER_INACTIVE", tt.name, err)
		}
	}

	// 30 more refusals of the removed credential, at TLS and per request.
	for i := 0; i < 30; i++ {
		check := func() error { return s.svc.CheckAccess(ctx, aro) }
		if i%2 == 1 {
			check = func() error { _, err := s.svc.Authenticate(ctx, aro); return err }
		}
		if err := check(); !errors.Is(err, ErrOfficerInactive) {
			t.Fatalf("refusal %d: %v", i, err)
		}
	}
	s.svc.FlushRefusals()
	countRE := regexp.MustCompile(`^count=(\d+)`)
	records, sum := 0, 0
	for _, e := range ratest.AuditTail(s.t, s.st, 1<<20) {
		if e.Actor != "unauthenticated:aro-a" {
			continue
		}
		m := countRE.FindStringSubmatch(e.Detail)
		if m == nil {
			t.Fatalf("refusal record without a count: %+v", e)
		}
		n, _ := strconv.Atoi(m[1])
		records, sum = records+1, sum+n
	}
	if sum != 31 || records > 2 {
		t.Fatalf("%d records summing to %d; want at most 2 summing to 31", records, sum)
	}
}
