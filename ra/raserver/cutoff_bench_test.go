package raserver

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/ca"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/internal/pgtest"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/ra/ratest"
	"github.com/smki/smki/ra/records"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
	"github.com/smki/smki/store/postgres"
	"github.com/smki/smki/verifier"
	"github.com/smki/smki/verifier/xmldsig"
)

// BenchmarkSupplierCutOff is the Supplier-failure night (issue 20): a
// party holding n certificates fails; from the moment `smki solr approve`
// is made (ApproveSoLR called) until every one of 3 following verifiers
// refuses the party's requests. The party's certificates are n-2 store
// records plus 2 real ones whose keys sign the probe requests (the
// verifiers' bundle holds the 2; the records cost what real ones cost on
// this path: each is revoked one by one in the approval's transaction and
// listed in the feed). A prober per verifier sends a freshly signed SR 1.6
// every millisecond from before the approval until it is refused.
//
// Metrics: cutoff-ms (approval started -> the last verifier refuses),
// commit-ms (the approval's call: the cut-off transaction, then the
// per-certificate revocation; solr.Service.Approve), cutoff-commit-ms
// (approval started -> the party-wide revocation readable in the store,
// polled every 2 ms), deliver-ms (cut-off committed -> the last verifier
// refuses: the feed), accepted-after-commit (probe requests that reached
// a verifier after the approval returned and were accepted; the goal is
// 0), accepted-after-cutoff (the same after the cut-off committed: a
// remote verifier needs one feed round trip). "load" runs issuance for
// another party (2 enrolling goroutines) throughout.
// Each runs on bbolt and on PostgreSQL (a schema of its own; the
// PostgreSQL half skips where no server answers, as pgtest says).
// Run with -benchtime=1x.
func BenchmarkSupplierCutOff(b *testing.B) {
	engines := []struct {
		name string
		open func(b *testing.B) func(string) (store.Store, error)
	}{
		{"bolt", func(*testing.B) func(string) (store.Store, error) { return nil }},
		{"postgres", func(b *testing.B) func(string) (store.Store, error) {
			url := pgtest.SchemaURL(b)
			return func(string) (store.Store, error) { return postgres.Open(context.Background(), url) }
		}},
	}
	for _, eng := range engines {
		for _, n := range []int{1000, 10000, 100000} {
			for _, load := range []bool{false, true} {
				name := fmt.Sprintf("%s/n=%d/idle", eng.name, n)
				if load {
					name = fmt.Sprintf("%s/n=%d/load", eng.name, n)
				}
				b.Run(name, func(b *testing.B) {
					var cut, commit, cutCommit, deliver time.Duration
					var late, lateCut int64
					for range b.N {
						r := runCutOff(b, eng.open(b), n, load)
						cut, commit, cutCommit, deliver = cut+r.cutoff, commit+r.commit, cutCommit+r.cutCommit, deliver+r.deliver
						late, lateCut = late+r.late, lateCut+r.lateCut
					}
					per := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / float64(b.N) }
					b.ReportMetric(per(cut), "cutoff-ms")
					b.ReportMetric(per(commit), "commit-ms")
					b.ReportMetric(per(cutCommit), "cutoff-commit-ms")
					b.ReportMetric(per(deliver), "deliver-ms")
					b.ReportMetric(float64(late)/float64(b.N), "accepted-after-commit")
					b.ReportMetric(float64(lateCut)/float64(b.N), "accepted-after-cutoff")
					b.ReportMetric(0, "ns/op")
				})
			}
		}
	}
}

type cutOffResult struct {
	cutoff, commit, cutCommit, deliver time.Duration
	late, lateCut                      int64
}

var cutOffDevice = eui64.MustParse("00-DB-12-34-56-78-90-A1")

func runCutOff(b *testing.B, open func(string) (store.Store, error), n int, load bool) cutOffResult {
	b.StopTimer()
	defer b.StartTimer()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const followers = 3
	rig := newLatencyRigOn(b, ctx, feedEnvOf(newEnvOn(b, true, open)), followers, 2, func(bd *bundle.Bundle) {
		is := bd.Users[0] // the rig's IS user
		bd.Parties = []bundle.Party{{ID: is.PartyID, Name: "Supplier A", Status: bundle.StatusActive}}
		bd.Devices = []bundle.Device{{Device: cutOffDevice, SupplierUser: is.UserID, SMETS: 2}}
	})
	f := rig.f
	// n-2 more certificates of the party, as store records.
	err := f.st.Update(ctx, func(tx store.Tx) error {
		for j := range n - 2 {
			if err := tx.PutCertificate(store.Certificate{Serial: fmt.Sprintf("7c%030x", j), Issuer: ca.IssuerIssuing,
				UserID: f.userIS.String(), PartyID: f.supplier.String(), Profile: string(ca.XMLSigning), Role: string(role.ImportSupplier),
				NotBefore: f.clock.Now().Add(-time.Hour), NotAfter: f.clock.Now().AddDate(1, 0, 0), IssuedAt: f.clock.Now(), DER: []byte{0x30, 0}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	// The SoLR event, declared; the approver with a key of its own.
	liaison := f.officer(f.admin, "liaison", ra.KindAuthorityLiaison, eui64.ID{})
	boot := f.actorFromDir(filepath.Join(f.dir, "officers", "approver"))
	_, own, err := f.svc.RenewOfficerCredential(ctx, boot, "approver", officerCSR(b, ratest.NewKey(b)))
	if err != nil {
		b.Fatal(err)
	}
	approver := f.actor(own)
	ev, err := f.svc.DeclareSoLR(ctx, liaison, ra.DeclareRequest{FailedParty: f.supplier, SRPUser: f.userSC, Instruction: "OFGEM-BENCH"})
	if err != nil {
		b.Fatal(err)
	}
	run, stop := context.WithCancel(ctx)
	defer stop()
	rig.follow(b, run)

	var loadWG sync.WaitGroup
	if load {
		aro := f.officer(f.sroSR, "aro-srp", ra.KindARO, f.srp)
		for range 2 {
			loadWG.Go(func() {
				for run.Err() == nil {
					k := ratest.NewKey(b)
					_, _ = f.svc.Enrol(run, aro, ra.EnrolRequest{UserID: f.userSC, Profile: ca.XMLSigning,
						CSR: ratest.CSR(b, k, f.userSC, role.SoLRContingency, ca.XMLSigning), Mode: ra.ModeEnrol})
				}
			})
		}
	}

	// Probers: each verifier must accept before the approval.
	var committed atomic.Int64 // UnixNano when ApproveSoLR returned; 0 before
	var cutAt atomic.Int64     // UnixNano when the party-wide revocation was seen committed; 0 before
	var late, lateCut atomic.Int64
	refusedAt := make([]time.Time, followers)
	var probeWG sync.WaitGroup
	started := make(chan struct{}, followers)
	for j, p := range rig.probes {
		probeWG.Go(func() {
			for ctr := uint64(1); ; ctr++ {
				req := cutOffRequest(b, rig, int(ctr%2), uint64(j)<<32|ctr)
				// A request counts as late if it reached the verifier after
				// the approval returned (one accepted while the approval
				// was returning, by a verifier that had not yet heard, is
				// not "after").
				arrived := time.Now().UnixNano()
				d := p.f.Verifier.Verify(req, f.clock.Now())
				if d.Accepted() {
					if ctr == 1 {
						started <- struct{}{}
					}
					if c := committed.Load(); c != 0 && arrived > c {
						late.Add(1)
					}
					if c := cutAt.Load(); c != 0 && arrived > c {
						lateCut.Add(1)
					}
				} else if d.Code == verifier.CodeREVOKED || d.Code == verifier.CodePARTY {
					refusedAt[j] = time.Now()
					return
				} else {
					b.Errorf("follower %d: %+v before the party was cut off", j, d)
					return
				}
				if run.Err() != nil {
					b.Errorf("follower %d never refused", j)
					return
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
	for range followers {
		select {
		case <-started:
		case <-time.After(30 * time.Second):
			b.Fatal("a prober never had a request accepted")
		}
	}
	// The cut-off's commit, seen from outside: the party-wide revocation
	// readable in the store.
	var watchWG sync.WaitGroup
	watchWG.Go(func() {
		for run.Err() == nil {
			var rs []bundle.PartyRevocation
			_ = f.st.View(run, func(tx store.Tx) error {
				var err error
				rs, err = records.PartyRevocations(tx)
				return err
			})
			if len(rs) > 0 {
				cutAt.Store(time.Now().UnixNano())
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
	})
	b.StartTimer()
	start := time.Now()
	if _, err := f.svc.ApproveSoLR(ctx, approver, ev.Event.ID); err != nil {
		b.Fatal(err)
	}
	done := time.Now()
	committed.Store(done.UnixNano())
	probeWG.Wait()
	b.StopTimer()
	stop()
	watchWG.Wait()
	loadWG.Wait()
	last := start
	for _, t := range refusedAt {
		if t.After(last) {
			last = t
		}
	}
	cut := time.Unix(0, cutAt.Load())
	if cutAt.Load() == 0 {
		b.Error("the party-wide revocation was never seen committed")
		cut = done
	}
	return cutOffResult{cutoff: last.Sub(start), commit: done.Sub(start), cutCommit: cut.Sub(start), deliver: max(0, last.Sub(cut)),
		late: late.Load(), lateCut: lateCut.Load()}
}

// cutOffRequest is an SR 1.6 to the party's device signed with the rig's
// certificate i, counter ctr.
func cutOffRequest(tb testing.TB, r *latencyRig, i int, ctr uint64) []byte {
	xml := `<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" schemaVersion="5.1">` +
		`<sr:Header><sr:RequestID>` + r.f.userIS.String() + `:` + cutOffDevice.String() + `:` + fmt.Sprint(ctr) + `</sr:RequestID>` +
		`<sr:CommandVariant>4</sr:CommandVariant><sr:ServiceReference>1.6</sr:ServiceReference>` +
		`<sr:ServiceReferenceVariant>1.6</sr:ServiceReferenceVariant></sr:Header>` +
		`<sr:Body><sr:UpdatePaymentMode><sr:Credit/></sr:UpdatePaymentMode></sr:Body></sr:Request>`
	out, err := xmldsig.Sign([]byte(xml), r.certs[i].key, r.certs[i].cert, xmldsig.SignOptions{})
	if err != nil {
		tb.Error(err)
	}
	return out
}
