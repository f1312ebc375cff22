package raserver

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/internal/pgtest"
	"github.com/smki/smki/ra/raapi"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
	"github.com/smki/smki/store/postgres"
)

// BenchmarkRevokePartyHTTPS (issue 20): a party's bulk revocation through
// the API as `smki revoke --party P --yes` makes it (raclient, mTLS, the
// progress streamed), against BenchmarkRevokeParty100k's work in the same
// run on the same store: another party's certificates listed and revoked
// by ca.RevokeTx in one transaction, ORL reissued. Each party holds
// revokePartyN certificates (store records, made untimed); the baseline
// runs first, so the API's ORL is the larger one. Metrics: revocations/s
// (API), baseline-revocations/s, api/baseline (the time ratio; goal: at
// most 1.2) and progress-lines. On bbolt and PostgreSQL (a schema of its
// own; skipped without a server, as pgtest says). Run with -benchtime=1x.
func BenchmarkRevokePartyHTTPS(b *testing.B) {
	for _, engine := range []string{"bolt", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			var api, base time.Duration
			var lines int
			for range b.N {
				b.StopTimer()
				var open func(string) (store.Store, error) // nil: bbolt
				if engine == "postgres" {
					url := pgtest.SchemaURL(b)
					open = func(string) (store.Store, error) { return postgres.Open(context.Background(), url) }
				}
				s := scenarioOf(newEnvOn(b, true, open))
				ts := startServer(b, s.env)
				cl := officerHTTPSClient(b, s, ts, "sro-a")
				putPartyCerts(b, s, s.userIS, s.supplier, role.ImportSupplier, "7d")
				putPartyCerts(b, s, s.userSC, s.srp, role.SoLRContingency, "7e")
				ctx := context.Background()

				start := time.Now()
				err := s.st.Update(ctx, func(tx store.Tx) error {
					certs, err := tx.ListCertificates(store.CertFilter{PartyID: s.srp.String(), Status: store.StatusGood})
					if err != nil {
						return err
					}
					serials := make([]string, len(certs))
					for i, c := range certs {
						serials[i] = c.Serial
					}
					_, err = s.ca.RevokeTx(tx, serials, 5, time.Time{})
					return err
				})
				base += time.Since(start)
				if err != nil {
					b.Fatal(err)
				}

				b.StartTimer()
				start = time.Now()
				res, err := cl.RevokeWithProgress(ctx, raapi.RevokeRequest{PartyID: s.supplier, Reason: 5, Yes: true},
					func(done, total int) { lines++ })
				api += time.Since(start)
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				if res.CertificateCount != revokePartyN {
					b.Fatalf("revoked %d certificates of the party, want %d", res.CertificateCount, revokePartyN)
				}
			}
			b.ReportMetric(float64(revokePartyN*b.N)/api.Seconds(), "revocations/s")
			b.ReportMetric(float64(revokePartyN*b.N)/base.Seconds(), "baseline-revocations/s")
			b.ReportMetric(api.Seconds()/base.Seconds(), "api/baseline")
			b.ReportMetric(float64(lines)/float64(b.N), "progress-lines")
		})
	}
}

// revokePartyN is the party size of BenchmarkRevokePartyHTTPS.
const revokePartyN = 100_000

// putPartyCerts stores revokePartyN certificates of user (of role r) in
// party as records (serials prefix then a counter), in batches.
func putPartyCerts(b *testing.B, s *scenario, user, party eui64.ID, r role.UserRole, prefix string) {
	b.Helper()
	for done := 0; done < revokePartyN; done += 10_000 {
		err := s.st.Update(context.Background(), func(tx store.Tx) error {
			for j := done; j < min(done+10_000, revokePartyN); j++ {
				if err := tx.PutCertificate(store.Certificate{Serial: fmt.Sprintf("%s%030x", prefix, j), Issuer: ca.IssuerIssuing,
					UserID: user.String(), PartyID: party.String(), Profile: string(ca.XMLSigning), Role: string(r),
					NotBefore: s.clock.Now().Add(-time.Hour), NotAfter: s.clock.Now().AddDate(1, 0, 0), IssuedAt: s.clock.Now(),
					DER: []byte{0x30, 0}}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
