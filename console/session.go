package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"sync"
	"time"
)

// Session and login-link lifetimes.
const (
	// LoginLinkTTL is how long a login link from `smki console open` works.
	LoginLinkTTL = 60 * time.Second
	// DefaultIdleTimeout ends a session unused this long.
	DefaultIdleTimeout = 15 * time.Minute
	// DefaultAbsoluteTimeout ends a session this long after sign-in.
	DefaultAbsoluteTimeout = 8 * time.Hour
	// maxPending bounds the login links, and the sessions, held in
	// memory for all officers together: a last resort, which officers
	// reach only in their hundreds, as maxPerOfficer bounds each one.
	maxPending = 10000
	// maxPerOfficer bounds one officer's sessions, and separately their
	// login links. Past it a new sign-in ends that officer's least
	// recently used session, and a new link drops their oldest link,
	// rather than being refused: only the holder of the officer's
	// credential can sign in as that officer, so this costs nobody else
	// anything, and an officer who left tabs open (or a script that asks
	// for links in a loop) is never locked out of the console until those
	// sessions time out, as they would be when refused.
	maxPerOfficer = 16
)

// session is one signed-in browser. It holds the officer's verified
// access certificate, which every request authenticates again.
type session struct {
	officer string
	cert    *x509.Certificate
	csrf    string
	created time.Time
	seen    time.Time
	used    uint64 // sessions.tick at its last use: the LRU order
}

// link is an unused login link, bound to the certificate that asked for it.
type link struct {
	cert    *x509.Certificate
	expires time.Time
	made    uint64 // sessions.tick when made: the oldest goes first
}

// sessions holds sessions and login links in memory, keyed by the SHA-256
// of their secret (a leaked map holds no usable cookie). A restart signs
// everyone out.
type sessions struct {
	mu       sync.Mutex
	now      func() time.Time
	idle     time.Duration
	absolute time.Duration
	byKey    map[[32]byte]*session
	links    map[[32]byte]link
	tick     uint64 // counts sign-ins, session uses and links made
}

func newSessions(now func() time.Time, idle, absolute time.Duration) *sessions {
	return &sessions{now: now, idle: idle, absolute: absolute,
		byKey: map[[32]byte]*session{}, links: map[[32]byte]link{}}
}

// secret returns 32 random bytes, base64url.
func secret() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("console: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func key(s string) [32]byte { return sha256.Sum256([]byte(s)) }

// sweepLocked drops expired links and sessions.
func (ss *sessions) sweepLocked(now time.Time) {
	for k, l := range ss.links {
		if !now.Before(l.expires) {
			delete(ss.links, k)
		}
	}
	for k, s := range ss.byKey {
		if ss.expired(s, now) {
			delete(ss.byKey, k)
		}
	}
}

func (ss *sessions) expired(s *session, now time.Time) bool {
	return now.Sub(s.seen) >= ss.idle || now.Sub(s.created) >= ss.absolute
}

// newLink returns a single-use login token for cert, valid LoginLinkTTL.
// An officer holding maxPerOfficer links loses the oldest; false when
// maxPending links are held.
func (ss *sessions) newLink(cert *x509.Certificate) (string, time.Time, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	now := ss.now()
	ss.sweepLocked(now)
	officer := cert.Subject.CommonName
	var oldest [32]byte
	n, made := 0, uint64(0)
	for k, l := range ss.links {
		if l.cert.Subject.CommonName == officer {
			if n++; n == 1 || l.made < made {
				oldest, made = k, l.made
			}
		}
	}
	if n >= maxPerOfficer {
		delete(ss.links, oldest)
	}
	if len(ss.links) >= maxPending {
		return "", time.Time{}, false
	}
	tok := secret()
	exp := now.Add(LoginLinkTTL)
	ss.tick++
	ss.links[key(tok)] = link{cert: cert, expires: exp, made: ss.tick}
	return tok, exp, true
}

// peekLink reports whether tok is a live login link (without using it).
func (ss *sessions) peekLink(tok string) (*x509.Certificate, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	l, ok := ss.links[key(tok)]
	if !ok || !ss.now().Before(l.expires) {
		return nil, false
	}
	return l.cert, true
}

// useLink consumes tok: it works once, within LoginLinkTTL.
func (ss *sessions) useLink(tok string) (*x509.Certificate, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	k := key(tok)
	l, ok := ss.links[k]
	delete(ss.links, k)
	if !ok || !ss.now().Before(l.expires) {
		return nil, false
	}
	return l.cert, true
}

// start makes a session for cert and returns its cookie value. An
// officer holding maxPerOfficer sessions loses the least recently used
// one; false when maxPending sessions are held.
func (ss *sessions) start(officer string, cert *x509.Certificate) (string, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	now := ss.now()
	ss.sweepLocked(now)
	var lru [32]byte
	n, used := 0, uint64(0)
	for k, s := range ss.byKey {
		if s.officer == officer {
			if n++; n == 1 || s.used < used {
				lru, used = k, s.used
			}
		}
	}
	if n >= maxPerOfficer {
		delete(ss.byKey, lru)
	}
	if len(ss.byKey) >= maxPending {
		return "", false
	}
	id := secret()
	ss.tick++
	ss.byKey[key(id)] = &session{officer: officer, cert: cert, csrf: secret(), created: now, seen: now, used: ss.tick}
	return id, true
}

// get returns the live session of cookie value id and marks it used.
func (ss *sessions) get(id string) (session, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	k := key(id)
	s, ok := ss.byKey[k]
	if !ok {
		return session{}, false
	}
	now := ss.now()
	if ss.expired(s, now) {
		delete(ss.byKey, k)
		return session{}, false
	}
	ss.tick++
	s.seen, s.used = now, ss.tick
	return *s, true
}

// end signs out the session of cookie value id.
func (ss *sessions) end(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.byKey, key(id))
}

// endCert ends every session and login link made with cert (it no
// longer authenticates) and returns how many sessions it ended. Those of
// the same officer made with another certificate stay.
func (ss *sessions) endCert(cert *x509.Certificate) int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	n := 0
	for k, s := range ss.byKey {
		if s.cert.Equal(cert) {
			delete(ss.byKey, k)
			n++
		}
	}
	for k, l := range ss.links {
		if l.cert.Equal(cert) {
			delete(ss.links, k)
		}
	}
	return n
}

// count is how many live sessions officer holds.
func (ss *sessions) count(officer string) int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	n := 0
	for _, s := range ss.byKey {
		if s.officer == officer && !ss.expired(s, ss.now()) {
			n++
		}
	}
	return n
}
