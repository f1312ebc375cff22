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
	// numbers after seq, in order and numbered without gaps (seq+1,
	// seq+2, ...), as many as one answer holds; last is the number of the
	// last one returned (seq if none), and latest the source's latest
	// number at the time of the answer. An answer that does not follow on
	// is an error, and the lookup decides as without the list.
	IssuedSince(ctx context.Context, seq uint64) (serials []*big.Int, last, latest uint64, err error)
}

// issuedRoundGap spaces the issuance list's catch-ups: a request naming a
// serial the list lacks waits for a catch-up that starts after it arrived
// (the serial may have been issued a moment ago), so during a flood of
// unknown serials the list is asked at most this often.
const issuedRoundGap = 50 * time.Millisecond

// The first read of the list, in the background from the Verifier's
// start, may take long (1,000 serials a page: 1,000 pages for a million
// certificates): it has issuedFirstBudget, and waits issuedFirstPace
// between pages so as to leave the repository's per-address allowance
// (docs/repository.md, "Limits") to lookups. A read that fails, or runs
// out of time, keeps what it read; until the list is complete, a miss
// starts another background read (issuedRetry after the last began).
const (
	issuedFirstBudget = 10 * time.Minute
	issuedFirstPace   = 20 * time.Millisecond
	issuedRetry       = time.Second
)

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
	lastHash uint64 // the hash of the serial read at seq
	complete bool
	// Catch-up rounds: started and finished count them; wake is closed
	// when one finishes; err is the last round's error.
	started, finished uint64
	running, reading  bool // a round is under way; it has begun reading
	wake              chan struct{}
	err               error
	lastStart         time.Time     // when the last round began reading
	kicked            time.Time     // when the last background read was started
	retry             time.Duration // issuedRetry (tests shorten it)
}

func newIssuedSet(src IssuedLister) *issuedSet {
	return &issuedSet{src: src, seed: maphash.MakeSeed(), known: map[uint64]struct{}{}, wake: make(chan struct{}), retry: issuedRetry}
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
	if ok {
		return nil
	}
	if !complete {
		s.kick()
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
	return &lookupError{msg: errNotIssued.Error(), cause: ErrCertificateNotFound}
}

// catchUp returns once a round of reading the list that began reading
// after the call has finished (sharing it with every caller that can
// count on the same round), with that round's error. Rounds begin
// reading at least issuedRoundGap apart; a round waiting out the gap has
// not read yet, so a caller arriving meanwhile counts on it.
func (s *issuedSet) catchUp(ctx context.Context) error {
	return s.round(ctx, certFetchTimeout, 0)
}

// round is catchUp whose read, if this call starts one, has budget and
// waits pace between pages.
func (s *issuedSet) round(ctx context.Context, budget, pace time.Duration) error {
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
			err := s.readRound(ctx, budget, pace)
			s.mu.Lock()
			s.end(n, err)
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

// readRound runs one round's read with its own budget (not the caller's
// context: the round serves every caller waiting for it). A panic in the
// source ends the round (as an error for those waiting) before it goes
// on up.
func (s *issuedSet) readRound(ctx context.Context, budget, pace time.Duration) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.mu.Lock()
			s.end(s.started, fmt.Errorf("the issuance list's source panicked: %v", r))
			s.mu.Unlock()
			panic(r)
		}
	}()
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), budget)
	defer cancel()
	return s.read(rctx, pace)
}

// end closes round n with err (s.mu held).
func (s *issuedSet) end(n uint64, err error) {
	s.running, s.finished, s.err = false, n, err
	close(s.wake)
	s.wake = make(chan struct{})
}

// read reads the list from the last number read to the source's latest,
// waiting pace between pages. Its first page is asked from one number
// before the last read, and must begin with the serial read at it: if it
// does not (or the source's latest is below it), the list was written
// anew below that number (an RA restored from a backup numbers anew from
// there), and it is read again from the start, incomplete until then.
// What was read before stays known, which only means lookups.
func (s *issuedSet) read(ctx context.Context, pace time.Duration) error {
	checked := false // the first page's overlap matched
	for {
		s.mu.Lock()
		seq, lastHash := s.seq, s.lastHash
		s.mu.Unlock()
		from := seq
		overlap := seq > 0 && !checked
		if overlap {
			from = seq - 1
		}
		serials, last, latest, err := s.src.IssuedSince(ctx, from)
		if err != nil {
			return err
		}
		if overlap {
			if latest < seq || len(serials) == 0 || s.hash(serials[0]) != lastHash {
				s.mu.Lock()
				s.seq, s.lastHash, s.complete = 0, 0, false
				s.mu.Unlock()
				checked = true // from the start: nothing to match
				continue
			}
			checked = true
		}
		if last < from || last > latest || uint64(len(serials)) != last-from {
			return fmt.Errorf("the issuance list does not follow on (%d serials up to %d after %d, latest %d)", len(serials), last, from, latest)
		}
		if last <= from && last < latest {
			return fmt.Errorf("the issuance list answered no serials after %d, though its latest is %d", from, latest)
		}
		s.mu.Lock()
		for _, sn := range serials {
			s.known[s.hash(sn)] = struct{}{}
		}
		if len(serials) > 0 {
			s.seq, s.lastHash = last, s.hash(serials[len(serials)-1])
		}
		if last == latest {
			s.complete = true
			s.mu.Unlock()
			return nil
		}
		s.mu.Unlock()
		if pace > 0 {
			select {
			case <-time.After(pace):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
}

// start reads the list in the background (issuedFirstBudget,
// issuedFirstPace), so that the Verifier refuses unknown serials once it
// is read to the end.
func (s *issuedSet) start() {
	s.mu.Lock()
	s.kicked = time.Now()
	s.mu.Unlock()
	go s.round(context.Background(), issuedFirstBudget, issuedFirstPace)
}

// kick starts another background read of a list not yet read to the end,
// unless one is under way or began less than issuedRetry ago.
func (s *issuedSet) kick() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running || time.Since(s.kicked) < s.retry {
		return
	}
	s.kicked = time.Now()
	go s.round(context.Background(), issuedFirstBudget, issuedFirstPace)
}

// state is what the list holds: how many serials, and whether it
// has been read to the end.
func (s *issuedSet) state() (serials int, complete bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.known), s.complete
}
