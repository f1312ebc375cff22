package ratest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/ra/ownpki"
	"github.com/smki/smki/store"
	"github.com/smki/smki/store/bolt"
)

// Start is the instant a fixture's clock reads until a test moves it.
var Start = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

// Clock is a settable test clock: Now reads what Set or Advance last
// made it. It is safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock reading start.
func NewClock(start time.Time) *Clock { return &Clock{t: start} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Set makes the clock read t.
func (c *Clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// Advance moves the clock d on.
func (c *Clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// MemKeys is an in-memory ownpki.Keys for the many tests that need an
// access CA or system signer but are not about key storage: the real
// backend's PBKDF2 (600,000 rounds per softkms key) would dominate a
// package's run time. ra/ownpki/ownkeys_test.go exercises the real
// ca.KeyStore (softkms and PKCS#11). It makes P-256 keys, takes only
// ECDSA keys to import, and is safe for concurrent use.
type MemKeys struct {
	mu   sync.Mutex
	keys map[string]*ecdsa.PrivateKey
}

var _ ownpki.Keys = (*MemKeys)(nil)

// NewMemKeys returns an empty MemKeys.
func NewMemKeys() *MemKeys { return &MemKeys{keys: map[string]*ecdsa.PrivateKey{}} }

// Kind is "memory".
func (m *MemKeys) Kind() string { return "memory" }

// CreateSigner makes a P-256 key named name and returns it with its
// reference.
func (m *MemKeys) CreateSigner(name string) (crypto.Signer, string, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, "", err
	}
	return m.put(name, k)
}

func (m *MemKeys) put(name string, k *ecdsa.PrivateKey) (crypto.Signer, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ref := fmt.Sprintf("mem:%s-%d", name, len(m.keys))
	m.keys[ref] = k
	return k, ref, nil
}

// LoadSigner returns the key ref names, or an error wrapping ca.ErrConfig
// if there is none.
func (m *MemKeys) LoadSigner(ref string) (crypto.Signer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.keys[ref]
	if !ok {
		return nil, fmt.Errorf("%w: no key %s", ca.ErrConfig, ref)
	}
	return k, nil
}

// ImportSigner keeps key (which must be an *ecdsa.PrivateKey, else an
// error wrapping ca.ErrConfig) under name and returns its reference.
func (m *MemKeys) ImportSigner(name string, key crypto.PrivateKey) (crypto.Signer, string, error) {
	k, ok := key.(*ecdsa.PrivateKey)
	if !ok {
		return nil, "", fmt.Errorf("%w: %T", ca.ErrConfig, key)
	}
	return m.put(name, k)
}

// PKI is what an RA under test stands on, all in one temp dir and on one
// clock: the store, a real CA on it, and the RA's access CA, whose keys
// (and the system signer's) are in Keys.
type PKI struct {
	Dir    string // the temp dir: the CA's files, access/, and a bbolt store's smki.db
	Store  store.Store
	CA     *ca.CA
	Clock  *Clock
	Keys   *MemKeys
	Access *ownpki.AccessCA
}

// NewPKI builds a PKI in a fresh temp dir on a Clock reading start: the
// store open returns for that dir (nil open: a bbolt store, smki.db in
// it), a CA initialised and opened on it (passphrase "test passphrase",
// default options), and an access CA in dir/access. The store and the CA
// are closed at t's cleanup; any failure fails t.
//
// On bbolt (nil open) the CA is initialised once per test process and
// start, and each PKI starts from a copy of its files (caTemplate): the
// CA's keys and certificates are then the same in every such PKI of the
// process. A test that needs two CAs apart gives open.
func NewPKI(t testing.TB, open func(dir string) (store.Store, error), start time.Time) *PKI {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	clk := NewClock(start)
	cfg := ca.Config{Dir: dir, Passphrase: []byte(testPassphrase), Clock: clk.Now}
	var st store.Store
	var err error
	if open == nil {
		if err = caTemplateOf(start).copyTo(dir); err == nil {
			st, err = bolt.Open(filepath.Join(dir, "smki.db"))
		}
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
	} else {
		if st, err = open(dir); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		if err := ca.Init(ctx, st, cfg, ca.InitOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	c, err := ca.Open(ctx, st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	keys := NewMemKeys()
	acc, err := ownpki.OpenAccessCA(filepath.Join(dir, "access"), keys, clk.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &PKI{Dir: dir, Store: st, CA: c, Clock: clk, Keys: keys, Access: acc}
}

const testPassphrase = "test passphrase"

// caTemplate is a CA initialised on a bbolt store at one start time: the
// files of its directory (the encrypted keys, smki.db), read once the
// store is closed. ca.Init costs about 0.7 s of CPU, nearly all of it
// softkms's PBKDF2 (600,000 iterations to encrypt each key and again to
// decrypt it), which every RA, raserver and console test paid; writing a
// copy costs nothing.
type caTemplate struct {
	once  sync.Once
	files map[string][]byte // path relative to the directory -> contents
	err   error
}

var caTemplates sync.Map // start.UnixNano() -> *caTemplate

func caTemplateOf(start time.Time) *caTemplate {
	v, _ := caTemplates.LoadOrStore(start.UnixNano(), &caTemplate{})
	tp := v.(*caTemplate)
	tp.once.Do(func() { tp.files, tp.err = initTemplate(start) })
	return tp
}

func initTemplate(start time.Time) (map[string][]byte, error) {
	dir, err := os.MkdirTemp("", "smki-ratest-ca-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	st, err := bolt.Open(filepath.Join(dir, "smki.db"))
	if err != nil {
		return nil, err
	}
	clk := NewClock(start)
	err = ca.Init(context.Background(), st, ca.Config{Dir: dir, Passphrase: []byte(testPassphrase), Clock: clk.Now}, ca.InitOptions{})
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("ratest: initialising the CA template: %w", err)
	}
	files := map[string][]byte{}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		files[rel], err = os.ReadFile(path)
		return err
	})
	return files, err
}

// copyTo writes the template's files under dir (directories 0700, files
// 0600, as the CA makes them).
func (tp *caTemplate) copyTo(dir string) error {
	if tp.err != nil {
		return tp.err
	}
	for rel, data := range tp.files {
		path := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// SystemSigner opens the RA's system signer (OU=89, the default system
// ID) in Dir/ra with a key in Keys, certified by the CA at the clock's
// time; a failure fails t.
func (p *PKI) SystemSigner(t testing.TB) *ownpki.SystemSigner {
	t.Helper()
	sig, err := ownpki.OpenSystemSigner(context.Background(), filepath.Join(p.Dir, "ra"), p.Keys, p.CA, ownpki.DefaultSystemID, p.Clock.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}
