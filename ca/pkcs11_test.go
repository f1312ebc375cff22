package ca

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smki/smki/internal/need"
	"github.com/smki/smki/internal/softhsmtest"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
)

// TestPKCS11SoftHSM runs Init, Open and Issue against a real SoftHSM2 token
// created in a temp dir: the CA keys are generated inside the token and no
// private key file is written in the data directory.
// Not parallel: it sets SOFTHSM2_CONF for the process.
func TestPKCS11SoftHSM(t *testing.T) {
	uri := softhsmtest.Token(t, "smki")
	dataDir := t.TempDir()
	st := openBolt(t, dataDir)
	e := newEnvOn(t, st, dataDir, uri)

	if e.ca.keys.kind != kindPKCS11 {
		t.Fatalf("CA opened with %s, want pkcs11", e.ca.keys.kind)
	}
	var state []byte
	_ = st.View(context.Background(), func(tx store.Tx) (err error) { state, err = tx.GetMeta(metaState); return })
	if !strings.Contains(string(state), `"root_key":"pkcs11:id=`) || strings.Contains(string(state), "pin") {
		t.Errorf("CA state %s: want pkcs11 key references without a PIN", state)
	}
	_, csr := newCSR(t, nil)
	cert, _, err := e.ca.Issue(context.Background(), issueReq(csr, XMLSigning, userSC, partySRP, role.SoLRContingency))
	if err != nil {
		t.Fatal(err)
	}
	if err := cert.CheckSignatureFrom(e.ca.Issuing()); err != nil {
		t.Fatalf("issued certificate does not verify: %v", err)
	}
	if err := e.ca.Issuing().CheckSignatureFrom(e.ca.Root()); err != nil {
		t.Fatalf("issuing CA does not verify: %v", err)
	}
	// No key material in the data directory: no keys/ dir, no PEM key.
	err = filepath.WalkDir(dataDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			if d != nil && d.IsDir() && d.Name() == "keys" {
				t.Errorf("keys directory %s created", p)
			}
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if strings.Contains(string(b), "PRIVATE KEY") {
			t.Errorf("private key material in %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The keys are in the token: two private key objects.
	out, err := exec.Command(need.Tool(t, "pkcs11-tool", "opensc"), "--module", softhsmtest.Module, "--token-label", "smki", "--login", "--pin", "1234", "--list-objects", "--type", "privkey").CombinedOutput()
	if err != nil {
		t.Fatalf("pkcs11-tool --list-objects: %v\n%s", err, out)
	}
	if strings.Count(string(out), "Private Key Object") != 2 {
		t.Errorf("token holds %d private keys, want 2:\n%s", strings.Count(string(out), "Private Key Object"), out)
	}
	// The softkms Config cannot open a PKCS#11 CA.
	soft := e.cfg
	soft.KMS = ""
	if _, err := Open(context.Background(), st, soft); err == nil {
		t.Error("Open with softkms opened a PKCS#11 CA")
	}
}

// TestPKCS11TokenGoneAndBack: the token goes away under a running CA (an
// HSM rebooted, its network lost) and comes back. While it is gone an
// issuance fails ErrKeyUnavailable (a 503 to the RA's client, not an
// internal error) with its intent failed, CheckKey (the readiness probe)
// fails the same way, and a revocation is still recorded; once it is back the CA signs again without a
// restart: the next issuance succeeds with a fresh serial and verifies
// under the Issuing OCA, CheckKey passes, and so does the RA's use of the
// same KeyStore (a key loaded through LoadSigner).
// Not parallel: it sets SOFTHSM2_CONF for the process.
func TestPKCS11TokenGoneAndBack(t *testing.T) {
	uri := softhsmtest.Token(t, "smki")
	dataDir := t.TempDir()
	st := openBolt(t, dataDir)
	e := newEnvOn(t, st, dataDir, uri)
	ctx := context.Background()
	other, ref, err := e.ca.KeyStore().CreateSigner("access-root")
	if err != nil {
		t.Fatal(err)
	}
	issue := func() (*x509.Certificate, store.Certificate, error) {
		_, csr := newCSR(t, nil)
		return e.ca.Issue(ctx, issueReq(csr, XMLSigning, userSC, partySRP, role.SoLRContingency))
	}
	_, first, err := issue()
	if err != nil {
		t.Fatal(err)
	}

	replug := softhsmtest.Unplug(t)
	if _, _, err := issue(); !errors.Is(err, ErrKeyUnavailable) {
		t.Fatalf("Issue with the token gone = %v, want ErrKeyUnavailable", err)
	}
	var open []store.Intent
	_ = st.View(ctx, func(tx store.Tx) (err error) { open, err = tx.OpenIntents(); return })
	if len(open) != 0 {
		t.Errorf("intents left open with the token gone: %+v", open)
	}
	if err := e.ca.CheckKey(); !errors.Is(err, ErrKeyUnavailable) {
		t.Errorf("CheckKey with the token gone = %v, want ErrKeyUnavailable", err)
	}
	// A revocation meanwhile is recorded, its ORL owed (crlAfterRevoking).
	if _, err := e.ca.Revoke(ctx, []string{first.Serial}, 1, time.Time{}); err != nil {
		t.Errorf("Revoke with the token gone = %v, want the revocation recorded", err)
	}

	replug()
	e.clock.Advance(reopenEvery) // the failed reopen above is a second old
	cert, rec, err := issue()
	if err != nil {
		t.Fatalf("Issue once the token is back = %v, want a certificate without a restart", err)
	}
	if err := cert.CheckSignatureFrom(e.ca.Issuing()); err != nil {
		t.Errorf("certificate issued after the token came back does not verify: %v", err)
	}
	assertIntent(t, st, rec.Serial, store.IntentCompleted)
	if err := e.ca.CheckKey(); err != nil {
		t.Errorf("CheckKey once the token is back = %v", err)
	}
	// Many issuances at once share the token's session pool.
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cert, _, err := issue()
			if err == nil {
				err = cert.CheckSignatureFrom(e.ca.Issuing())
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("parallel issuance against the token: %v", err)
		}
	}
	digest := sha256.Sum256([]byte("after the token came back"))
	sig, err := other.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil || !ecdsa.VerifyASN1(other.Public().(*ecdsa.PublicKey), digest[:], sig) {
		t.Errorf("the RA's key %s once the token is back: %v", ref, err)
	}
}

// TestPKCS11OpenRefusalsSayWhatToDo: a CA created in a token, opened with
// a KMS URI an operator got wrong, is refused at Open (so smki serve and
// the ca verbs refuse at start), each with its code and the next step and
// never with the PIN. A PIN the token refuses, or a pin-source that cannot
// give one, is ErrKMSPIN, which smki serve does not retry (a token locks
// after a few wrong PINs); an unreadable or empty pin-source is refused
// before any login, where the KMS used to log in with an empty PIN
// (CKR_ARGUMENTS_BAD on SoftHSM2, a wrong PIN counted on an HSM).
// Not parallel: it sets SOFTHSM2_CONF for the process.
func TestPKCS11OpenRefusalsSayWhatToDo(t *testing.T) {
	uri := softhsmtest.Token(t, "smki")
	dataDir := t.TempDir()
	st := openBolt(t, dataDir)
	e := newEnvOn(t, st, dataDir, uri)
	e.ca.Close()
	util := need.Tool(t, "softhsm2-util", "softhsm2")
	if out, err := exec.Command(util, "--init-token", "--free", "--label", "other", "--pin", "1234", "--so-pin", "5678").CombinedOutput(); err != nil {
		t.Fatalf("softhsm2-util: %v\n%s", err, out)
	}
	pins := t.TempDir()
	empty := filepath.Join(pins, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := "pkcs11:module-path=" + softhsmtest.Module + ";token="
	tests := []struct {
		name, uri string
		code      error
		want      string
	}{
		{"wrong PIN", base + "smki?pin-value=9876", ErrKMSPIN, "refused the PIN"},
		{"pin-source missing", base + "smki?pin-source=" + filepath.Join(pins, "nope"), ErrKMSPIN, "pin-source " + filepath.Join(pins, "nope") + " cannot be read"},
		{"pin-source empty", base + "smki?pin-source=" + empty, ErrKMSPIN, "pin-source " + empty + " is empty"},
		{"token label misspelt", base + "smkj?pin-value=1234", ErrConfig, "softhsm2-util --show-slots"},
		{"module path misspelt", "pkcs11:module-path=/usr/lib/softhsm/libsofthsm.so;token=smki?pin-value=1234", ErrConfig, "module /usr/lib/softhsm/libsofthsm.so cannot be loaded"},
		{"a token without the CA's keys", base + "other?pin-value=1234", ErrConfig, "is not in the token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := e.cfg
			cfg.KMS = tt.uri
			c, err := Open(context.Background(), st, cfg)
			if err == nil {
				c.Close()
			}
			if !errors.Is(err, tt.code) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open = %v; want %v saying %q", err, tt.code, tt.want)
			}
			for _, bad := range []string{"9876", "CKR_ARGUMENTS_BAD"} {
				if strings.Contains(err.Error(), bad) {
					t.Errorf("the error shows %q: %v", bad, err)
				}
			}
		})
	}
}

// hangingSigner is a token that stops answering: each Sign waits until
// release is closed, then signs with the real key.
type hangingSigner struct {
	crypto.Signer
	release chan struct{}
	entered atomic.Int32
}

func (h *hangingSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	h.entered.Add(1)
	<-h.release
	return h.Signer.Sign(r, digest, opts)
}

// TestPKCS11SignBoundedWhenTokenHangs: the token stops answering (an HSM
// hung, its network silent: C_Sign never returns) under a running CA. An
// issuance and the readiness probe (CheckKey) fail ErrKeyUnavailable
// (503 E_CA_KEY_UNAVAILABLE) once signWait has passed instead of waiting
// for ever, the issuance's intent is failed, not left open; signatures
// that keep arriving while the hung ones hold every one of the
// KeyStore's maxSigning places wait no longer and add no more stuck calls
// on the token. When the token answers again the CA signs without a
// restart.
// Not parallel: it sets SOFTHSM2_CONF for the process.
func TestPKCS11SignBoundedWhenTokenHangs(t *testing.T) {
	uri := softhsmtest.Token(t, "smki")
	dataDir := t.TempDir()
	st := openBolt(t, dataDir)
	e := newEnvOn(t, st, dataDir, uri)
	ctx := context.Background()
	e.ca.keys.signWait = 200 * time.Millisecond
	e.ca.keys.signing = make(chan struct{}, 2)
	slots := cap(e.ca.keys.signing)
	ts := e.ca.issSigner.(*tokenSigner)
	hung := &hangingSigner{Signer: ts.cur, release: make(chan struct{})}
	ts.mu.Lock()
	ts.cur = hung
	ts.mu.Unlock()
	released := false
	release := func() {
		if !released {
			released = true
			close(hung.release)
		}
	}
	t.Cleanup(release)

	// within runs f and fails the test if it has not returned in 5s.
	within := func(what string, f func() error) error {
		t.Helper()
		done := make(chan error, 1)
		go func() { done <- f() }()
		select {
		case err := <-done:
			return err
		case <-time.After(5 * time.Second):
			t.Fatalf("%s with the token silent: still waiting after 5s", what)
			return nil
		}
	}
	issue := func() error {
		_, csr := newCSR(t, nil)
		_, _, err := e.ca.Issue(ctx, issueReq(csr, XMLSigning, userSC, partySRP, role.SoLRContingency))
		return err
	}
	for i := range 3 * slots {
		if err := within("Issue", issue); !errors.Is(err, ErrKeyUnavailable) {
			t.Fatalf("Issue %d with the token silent = %v, want ErrKeyUnavailable", i, err)
		}
	}
	if err := within("CheckKey", e.ca.CheckKey); !errors.Is(err, ErrKeyUnavailable) || !strings.Contains(err.Error(), "did not answer") && !strings.Contains(err.Error(), "every one of") {
		t.Errorf("CheckKey with the token silent = %v, want ErrKeyUnavailable saying the token did not answer", err)
	}
	if n := int(hung.entered.Load()); n > slots {
		t.Errorf("%d signatures stuck on the silent token, want at most its %d places", n, slots)
	}
	var open []store.Intent
	_ = st.View(ctx, func(tx store.Tx) (err error) { open, err = tx.OpenIntents(); return })
	if len(open) != 0 {
		t.Errorf("intents left open with the token silent: %+v", open)
	}

	release()
	deadline := time.Now().Add(5 * time.Second)
	for len(e.ca.keys.signing) > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := within("Issue once the token answers", issue); err != nil {
		t.Fatalf("Issue once the token answers again = %v, want a certificate without a restart", err)
	}
	if err := e.ca.CheckKey(); err != nil {
		t.Errorf("CheckKey once the token answers again = %v", err)
	}
}
