package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/smki/smki/store"
)

const (
	workers   = 8
	perWorker = 100
)

// parallel runs fn(worker, i) for workers x n iterations and fails t
// with the first error.
func parallel(t *testing.T, n int, fn func(w, i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n; i++ {
				if err := fn(w, i); err != nil {
					errs <- fmt.Errorf("worker %d, iteration %d: %w", w, i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// testConcurrentIssuance follows the CA's two transactions per
// certificate (intent, then certificate) from several goroutines.
func testConcurrentIssuance(t *testing.T, s store.Store) {
	ctx := context.Background()
	party := eui()
	issued := make([][]string, workers)
	parallel(t, perWorker, func(w, i int) error {
		user := eui()
		sn := randSerial(t)
		if err := s.Update(ctx, func(tx store.Tx) error { return tx.CreateIntent(intent(sn, user)) }); err != nil {
			return err
		}
		err := s.Update(ctx, func(tx store.Tx) error {
			if err := tx.PutCertificate(cert(sn, user, party)); err != nil {
				return err
			}
			return tx.SetIntentState(sn, store.IntentCompleted)
		})
		issued[w] = append(issued[w], sn)
		return err
	})
	want := slices.Concat(issued...)
	slices.Sort(want)
	view(t, s, func(tx store.Tx) error {
		got, err := tx.ListCertificates(store.CertFilter{PartyID: party})
		noErr(t, "ListCertificates", err)
		if !slices.Equal(serials(got), want) {
			t.Fatalf("recorded %d certificates, issued %d (or order differs)", len(got), len(want))
		}
		open, err := tx.OpenIntents()
		noErr(t, "OpenIntents", err)
		if len(open) != 0 {
			t.Fatalf("%d intents left open", len(open))
		}
		return nil
	})

	// Racing the same serial: exactly one CreateIntent wins.
	dup := randSerial(t)
	var mu sync.Mutex
	wins, dups := 0, 0
	parallel(t, 1, func(int, int) error {
		err := s.Update(ctx, func(tx store.Tx) error { return tx.CreateIntent(intent(dup, eui())) })
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err == nil:
			wins++
		case errors.Is(err, store.ErrDuplicateSerial):
			dups++
		default:
			return err
		}
		return nil
	})
	if wins != 1 || dups != workers-1 {
		t.Fatalf("racing one serial: %d won, %d got ErrDuplicateSerial; want 1, %d", wins, dups, workers-1)
	}
}

// testConcurrentRevocations checks that concurrent revokers get distinct,
// gap-free sequence numbers and that the feed lists them in order.
func testConcurrentRevocations(t *testing.T, s store.Store) {
	const n = 25
	party := eui()
	certs := make([][]store.Certificate, workers)
	update(t, s, func(tx store.Tx) error {
		for w := range certs {
			certs[w] = certs[w][:0]
			for i := 0; i < n; i++ {
				c := cert(randSerial(t), eui(), party)
				noErr(t, "PutCertificate", tx.PutCertificate(c))
				certs[w] = append(certs[w], c)
			}
		}
		return nil
	})
	seqs := make([][]uint64, workers)
	parallel(t, n, func(w, i int) error {
		var r store.Revocation
		err := s.Update(context.Background(), func(tx store.Tx) error {
			var err error
			r, err = tx.Revoke(certs[w][i].Serial, 5, base)
			return err
		})
		if err == nil {
			if len(seqs[w]) > 0 && r.Seq <= seqs[w][len(seqs[w])-1] {
				return fmt.Errorf("seq %d after %d in one goroutine", r.Seq, seqs[w][len(seqs[w])-1])
			}
			seqs[w] = append(seqs[w], r.Seq)
		}
		return err
	})
	got := slices.Concat(seqs...)
	slices.Sort(got)
	for i, seq := range got {
		if seq != uint64(i+1) {
			t.Fatalf("revocation seqs are not 1..%d: position %d holds %d", workers*n, i, seq)
		}
	}
	view(t, s, func(tx store.Tx) error {
		feed, err := tx.RevocationsSince(0, 0)
		noErr(t, "RevocationsSince", err)
		if len(feed) != workers*n {
			t.Fatalf("feed has %d entries, want %d", len(feed), workers*n)
		}
		for i, r := range feed {
			if r.Seq != uint64(i+1) {
				t.Fatalf("feed entry %d has seq %d", i, r.Seq)
			}
			c, err := tx.GetCertificate(r.Serial)
			noErr(t, "GetCertificate", err)
			if c.RevocationSeq != r.Seq {
				t.Fatalf("certificate %s has seq %d, feed says %d", r.Serial, c.RevocationSeq, r.Seq)
			}
		}
		return nil
	})
}

func testConcurrentAudit(t *testing.T, s store.Store) {
	const n = 25
	parallel(t, n, func(w, i int) error {
		return s.Update(context.Background(), func(tx store.Tx) error {
			_, err := tx.AppendAudit(store.AuditEntry{Time: base, Actor: fmt.Sprint(w), Action: "x", Subject: fmt.Sprint(i)})
			return err
		})
	})
	all := sealed(t, s)
	if len(all) != workers*n {
		t.Fatalf("%d audit entries, want %d", len(all), workers*n)
	}
	_, err := store.VerifyChain(nil, 1, all)
	noErr(t, "VerifyChain", err)
}
