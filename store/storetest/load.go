package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smki/smki/store"
)

// Load shapes shared by the engines' contention benchmarks: the store
// transactions the RA and the CA run per request, without the signing,
// so that what is measured is the store under contention.

// LoadOfficer is the officer every load read authenticates as.
const LoadOfficer = "load-officer"

// SetupLoad stores the officer the load reads authenticate as.
func SetupLoad(tb testing.TB, s store.Store) {
	tb.Helper()
	err := s.Update(context.Background(), func(tx store.Tx) error {
		return tx.CreateOfficer(store.Officer{ID: LoadOfficer, Name: "Load", Kind: "ra-operator", CertSerial: "01",
			Status: store.StatusActive, CreatedAt: base, AppointedBy: "system:bootstrap"})
	})
	if err != nil {
		tb.Fatal(err)
	}
}

func loadSerial() string {
	var b [16]byte
	rand.Read(b[:])
	b[0] &= 0x7f
	return hex.EncodeToString(b[:])
}

// Issue is the CA's two transactions for one certificate of party: the
// intent (with the key-reuse check), then the certificate, its audit
// record and the intent's completion.
func Issue(ctx context.Context, s store.Store, party string) (string, error) {
	sn, user := loadSerial(), eui()
	c := cert(sn, user, party)
	err := s.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.CertificatesByKey(c.KeyHash); err != nil {
			return err
		}
		return tx.CreateIntent(intent(sn, user))
	})
	if err != nil {
		return "", fmt.Errorf("intent: %w", err)
	}
	err = s.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.GetIntent(sn); err != nil {
			return err
		}
		if err := tx.PutCertificate(c); err != nil {
			return err
		}
		if _, err := tx.AppendAudit(store.AuditEntry{Time: time.Now(), Actor: "ca", Action: "issue", Subject: sn, Result: "ok"}); err != nil {
			return err
		}
		return tx.SetIntentState(sn, store.IntentCompleted)
	})
	if err != nil {
		return "", fmt.Errorf("certificate: %w", err)
	}
	return sn, nil
}

// Read is the RA's audited read of one certificate: the officer and the
// certificate read in a View, then the "allowed" record through the
// store's batched audit append.
func Read(ctx context.Context, s store.Store, serial string) error {
	err := s.View(ctx, func(tx store.Tx) error {
		if _, err := tx.GetOfficer(LoadOfficer); err != nil {
			return err
		}
		_, err := tx.GetCertificate(serial)
		return err
	})
	if err != nil {
		return err
	}
	return s.Audit(ctx, store.AuditEntry{Time: time.Now(), Actor: LoadOfficer, Action: "read", Subject: "cert:" + serial, Result: "allowed"})
}

// RevokeParty is a party revocation as the CA runs it: in one urgent
// transaction, every good certificate of party revoked in steps of 256,
// the ORL's inputs read (every revoked certificate) and the CRL row
// rewritten, and the audit record appended. attempts counts how often
// the engine ran the transaction.
func RevokeParty(ctx context.Context, s store.Store, party string, attempts *atomic.Int32) (int, error) {
	var serials []string
	err := s.View(ctx, func(tx store.Tx) error {
		cs, err := tx.ListCertificates(store.CertFilter{PartyID: party, Status: store.StatusGood})
		serials = make([]string, len(cs))
		for i, c := range cs {
			serials[i] = c.Serial
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	err = s.Urgent(ctx, func(tx store.Tx) error {
		attempts.Add(1)
		for i := 0; i < len(serials); i += 256 {
			if _, err := tx.RevokeMany(serials[i:min(i+256, len(serials))], 5, time.Now()); err != nil {
				return err
			}
		}
		if _, err := tx.ListCertificates(store.CertFilter{Issuer: "issuing-ca", Status: store.StatusRevoked}); err != nil {
			return err
		}
		n := uint64(1)
		if crl, err := tx.GetCRL("orl"); err == nil {
			n = crl.Number + 1
		}
		if err := tx.PutCRL(store.CRL{Name: "orl", Number: n, ThisUpdate: base, NextUpdate: base.Add(time.Hour), DER: []byte("crl")}); err != nil {
			return err
		}
		_, err := tx.AppendAudit(store.AuditEntry{Time: time.Now(), Actor: LoadOfficer, Action: "revoke.party", Subject: "party:" + party, Result: "allowed"})
		return err
	})
	return len(serials), err
}

// PutParty stores n good certificates of party, in transactions of 1000.
func PutParty(tb testing.TB, s store.Store, party string, n int) []string {
	tb.Helper()
	out := make([]string, 0, n)
	for done := 0; done < n; {
		batch := min(1000, n-done)
		err := s.Update(context.Background(), func(tx store.Tx) error {
			for j := 0; j < batch; j++ {
				c := cert(loadSerial(), eui(), party)
				if err := tx.PutCertificate(c); err != nil {
					return err
				}
				out = append(out, c.Serial)
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
		done += batch
	}
	return out
}

// Mix is the result of RunMix.
type Mix struct {
	Ops, Errors int
	Elapsed     time.Duration
	FirstError  error
	// ReadLatencies are the audited reads' latencies, WhoamiLatencies
	// those of an unaudited read of the officer (what `whoami` does)
	// taken just before each, under the same load.
	ReadLatencies, WhoamiLatencies []time.Duration
}

// PerSecond is the mix's throughput.
func (m Mix) PerSecond() float64 { return float64(m.Ops) / m.Elapsed.Seconds() }

// RunMix runs clients goroutines per store, each doing ops operations
// alternating an issuance and an audited read of a certificate issued
// earlier (50% reads), against every store in stores at once.
func RunMix(ctx context.Context, stores []store.Store, clients, ops int, party string, seed []string) Mix {
	var mu sync.Mutex
	var m Mix
	var wg sync.WaitGroup
	start := time.Now()
	for si, s := range stores {
		for c := 0; c < clients; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < ops; i++ {
					var err error
					var lat, who time.Duration
					if i%2 == 0 {
						_, err = Issue(ctx, s, party)
					} else {
						t0 := time.Now()
						err = s.View(ctx, func(tx store.Tx) error { _, err := tx.GetOfficer(LoadOfficer); return err })
						who = time.Since(t0)
						t0 = time.Now()
						if err == nil {
							err = Read(ctx, s, seed[(si*clients*ops+c*ops+i)%len(seed)])
						}
						lat = time.Since(t0)
					}
					mu.Lock()
					m.Ops++
					if err != nil {
						m.Errors++
						if m.FirstError == nil {
							m.FirstError = err
						}
					} else if lat > 0 {
						m.ReadLatencies = append(m.ReadLatencies, lat)
						m.WhoamiLatencies = append(m.WhoamiLatencies, who)
					}
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	m.Elapsed = time.Since(start)
	return m
}

// IssueLoad runs n goroutines issuing into party until stop is closed,
// and returns how many issued and the first error.
func IssueLoad(ctx context.Context, s store.Store, n int, party string, stop <-chan struct{}) (wait func() (int, error)) {
	var wg sync.WaitGroup
	var issued atomic.Int64
	var mu sync.Mutex
	var first error
	for w := 0; w < n; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := Issue(ctx, s, party); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					continue
				}
				issued.Add(1)
			}
		}()
	}
	return func() (int, error) {
		wg.Wait()
		return int(issued.Load()), first
	}
}

// RevokeUnderLoad is issue 13's revocation acceptance at the store: a
// party revocation of size certificates (RevokeParty), first idle, then
// while issuers goroutines issue into another party at full speed, on a
// store made by open. It fails b if the loaded revocation fails, and
// reports both times, their ratio (target <= 2), how often the engine ran
// the loaded transaction (1: no retry) and the issuance rate meanwhile.
func RevokeUnderLoad(b *testing.B, open func(*testing.B) store.Store, size, issuers int) {
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		s := open(b)
		SetupLoad(b, s)
		PutParty(b, s, "P-IDLE", size)
		PutParty(b, s, "P-LOADED", size)
		var idleAttempts, loadedAttempts atomic.Int32
		start := time.Now()
		if _, err := RevokeParty(ctx, s, "P-IDLE", &idleAttempts); err != nil {
			b.Fatal(err)
		}
		idle := time.Since(start)
		stop := make(chan struct{})
		wait := IssueLoad(ctx, s, issuers, "P-OTHER", stop)
		time.Sleep(300 * time.Millisecond) // issuance at full speed
		start = time.Now()
		n, err := RevokeParty(ctx, s, "P-LOADED", &loadedAttempts)
		loaded := time.Since(start)
		close(stop)
		issued, ierr := wait()
		if err != nil {
			b.Errorf("revocation under load failed after %v and %d attempts: %v", loaded, loadedAttempts.Load(), err)
		} else if n != size {
			b.Errorf("revoked %d, want %d", n, size)
		}
		if ierr != nil {
			b.Errorf("issuance during the revocation: %v", ierr)
		}
		b.Logf("idle %v; under %d issuers %v (%d attempts), ratio %.2f; %d issued", idle, issuers, loaded,
			loadedAttempts.Load(), float64(loaded)/float64(idle), issued)
		b.ReportMetric(float64(idle.Milliseconds()), "ms-idle")
		b.ReportMetric(float64(loaded.Milliseconds()), "ms-loaded")
		b.ReportMetric(float64(loaded)/float64(idle), "x-loaded-over-idle")
		b.ReportMetric(float64(loadedAttempts.Load()), "attempts")
		b.ReportMetric(float64(issued)/(loaded+300*time.Millisecond).Seconds(), "issued/s")
	}
}

// P99 is the 99th percentile of ds (0 for none).
func P99(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)*99/100]
}
