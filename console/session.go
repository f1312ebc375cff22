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
	// maxPending bounds the login links and sessions held in memory.
	maxPending = 10000
)

// session is one signed-in browser. It holds the officer's verified
// access certificate, which every request authenticates again.
type session struct {
	officer string
	cert    *x509.Certificate
	csrf    string
	created time.Time
	seen    time.Time
}

// link is an unused login link, bound to the certificate that asked for it.
type link struct {
	cert    *x509.Certificate
	expires time.Time
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
func (ss *sessions) newLink(cert *x509.Certificate) (string, time.Time, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	now := ss.now()
	ss.sweepLocked(now)
	if len(ss.links) >= maxPending {
		return "", time.Time{}, false
	}
	tok := secret()
	exp := now.Add(LoginLinkTTL)
	ss.links[key(tok)] = link{cert: cert, expires: exp}
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

// start makes a session for cert and returns its cookie value.
func (ss *sessions) start(officer string, cert *x509.Certificate) (string, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	now := ss.now()
	ss.sweepLocked(now)
	if len(ss.byKey) >= maxPending {
		return "", false
	}
	id := secret()
	ss.byKey[key(id)] = &session{officer: officer, cert: cert, csrf: secret(), created: now, seen: now}
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
	s.seen = now
	return *s, true
}

// end signs out the session of cookie value id.
func (ss *sessions) end(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.byKey, key(id))
}

// endOfficer ends every session and login link of officer (its credential
// no longer authenticates).
func (ss *sessions) endOfficer(officer string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for k, s := range ss.byKey {
		if s.officer == officer {
			delete(ss.byKey, k)
		}
	}
	for k, l := range ss.links {
		if l.cert.Subject.CommonName == officer {
			delete(ss.links, k)
		}
	}
}
