package verifier

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math/big"
	"sync"
	"time"
)

// IssuedLister is a CertificateSource that can also list the serials the
// Issuing OCA issued, in issuance order (Follower is one: GET
// /repo/changes of the RA, docs/repository.md). With it a Verifier knows
// which serials exist, so a request naming one that was never issued is
// refused CERT without a lookup: a flood of requests naming random
// serials cannot hold the lookup slots (certFetchConcurrency) that a
// genuinely new signer needs.
type IssuedLister interface {
	CertificateSource
	// IssuedSince returns the serials issued with issuance sequence
	// numbers after seq, in order, as many as one answer holds; last is
	// the number of the last one returned (seq if none), and latest the
	// source's latest number at the time of the answer.
	IssuedSince(ctx context.Context, seq uint64) (serials []*big.Int, last, latest uint64, err error)
}

// issuedRoundGap spaces the issuance list's catch-ups: a request naming a
// serial the list lacks waits for a catch-up that starts after it arrived
// (the serial may have been issued a moment ago), so during a flood of
// unknown serials the list is asked at most this often.
const issuedRoundGap = 50 * time.Millisecond

// issuedSet is the serials issued as the IssuedLister listed them, kept
// as keyed 64-bit hashes of their bytes: a false match only means a
// lookup, as without the list. complete is set once the list has been
// read to the source's latest number; until then every miss is looked
// up, as without the list.
type issuedSet struct {
	src  IssuedLister
	seed maphash.Seed

	mu       sync.Mutex
	known    map[uint64]struct{}
	seq      uint64 // the last issuance number read
	complete bool
	// Catch-up rounds: started and finished count them; wake is closed
	// when one finishes; err is the last round's error.
	started, finished uint64
	running, reading  bool // a round is under way; it has begun reading
	wake              chan struct{}
	err               error
	lastStart         time.Time // when the last round began reading
}

func newIssuedSet(src IssuedLister) *issuedSet {
	return &issuedSet{src: src, seed: maphash.MakeSeed(), known: map[uint64]struct{}{}, wake: make(chan struct{})}
}

func (s *issuedSet) hash(serial *big.Int) uint64 { return maphash.Bytes(s.seed, serial.Bytes()) }

// errNotIssued: the issuance list, read after the request arrived, does
// not hold the serial.
var errNotIssued = errors.New("no certificate with that serial was issued (the RA's issuance list)")

// admit reports whether serial may be looked up: nil if the list holds
// it, or cannot say (not read to the end yet, or its source failed: then
// the lookup decides, as without the list); errNotIssued (wrapping
// ErrCertificateNotFound) if a catch-up that started after the call does
// not list it.
func (s *issuedSet) admit(ctx context.Context, serial *big.Int) error {
	h := s.hash(serial)
	s.mu.Lock()
	_, ok := s.known[h]
	complete := s.complete
	s.mu.Unlock()
	if ok || !complete {
		return nil
	}
	if err := s.catchUp(ctx); err != nil {
		return nil // the lookup decides
	}
	s.mu.Lock()
	_, ok = s.known[h]
	s.mu.Unlock()
	if ok {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrCertificateNotFound, errNotIssued)
}

// catchUp returns once a round of reading the list that began reading
// after the call has finished (sharing it with every caller that can
// count on the same round), with that round's error. Rounds begin
// reading at least issuedRoundGap apart; a round waiting out the gap has
// not read yet, so a caller arriving meanwhile counts on it.
func (s *issuedSet) catchUp(ctx context.Context) error {
	s.mu.Lock()
	want := s.started + 1 // the first round to begin from now on
	if s.running && !s.reading {
		want = s.started
	}
	for s.finished < want {
		if !s.running {
			s.running, s.reading = true, false
			s.started++
			n := s.started
			gap := issuedRoundGap - time.Since(s.lastStart)
			s.mu.Unlock()
			if gap > 0 {
				time.Sleep(gap)
			}
			s.mu.Lock()
			s.reading, s.lastStart = true, time.Now()
			s.mu.Unlock()
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), certFetchTimeout)
			err := s.read(rctx)
			cancel()
			s.mu.Lock()
			s.running, s.finished, s.err = false, n, err
			close(s.wake)
			s.wake = make(chan struct{})
			continue
		}
		w := s.wake
		s.mu.Unlock()
		select {
		case <-w:
		case <-ctx.Done():
			return ctx.Err()
		}
		s.mu.Lock()
	}
	err := s.err
	s.mu.Unlock()
	return err
}

// read reads the list from the last number read to the source's latest.
func (s *issuedSet) read(ctx context.Context) error {
	for {
		s.mu.Lock()
		seq := s.seq
		s.mu.Unlock()
		serials, last, latest, err := s.src.IssuedSince(ctx, seq)
		if err != nil {
			return err
		}
		if last < seq || (len(serials) > 0 && last == seq) {
			return fmt.Errorf("the issuance list went back (%d after %d)", last, seq)
		}
		s.mu.Lock()
		for _, sn := range serials {
			s.known[s.hash(sn)] = struct{}{}
		}
		s.seq = last
		if last >= latest || len(serials) == 0 {
			s.complete = true
			s.mu.Unlock()
			return nil
		}
		s.mu.Unlock()
	}
}

// start reads the list once in the background, so that the Verifier
// refuses unknown serials from then on.
func (s *issuedSet) start() {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		s.catchUp(ctx)
	}()
}
