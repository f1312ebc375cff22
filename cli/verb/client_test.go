package verb

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// credDir writes a credential directory whose cert.pem expires at notAfter
// and whose files hold tag, so a test can tell generations apart.
func credDir(t *testing.T, dir string, notAfter time.Time, tag string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: tag},
		NotBefore: notAfter.Add(-365 * 24 * time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"key.pem":  []byte("key " + tag),
		"cert.pem": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		"ca.pem":   []byte("ca " + tag),
	}
	for f, b := range files {
		mode := os.FileMode(0o644)
		if f == "key.pem" {
			mode = 0o600
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, mode); err != nil {
			t.Fatal(err)
		}
	}
}

// TestWarnExpiring: client verbs warn on stderr in the last 30 days of the
// credential, and differently once it has expired; otherwise not at all.
func TestWarnExpiring(t *testing.T) {
	t.Parallel()
	now := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		notAfter time.Time
		want     string // "" = no warning
	}{
		{"months left", now.Add(90 * 24 * time.Hour), ""},
		{"31 days left", now.Add(31 * 24 * time.Hour), ""},
		{"30 days left", now.Add(30 * 24 * time.Hour), "smki: your officer credential expires on 2027-03-31 12:00 UTC; run smki officer renew"},
		{"an hour left", now.Add(time.Hour), "expires on 2027-03-01 13:00 UTC"},
		{"expired", now.Add(-time.Hour), "expired on 2027-03-01 11:00 UTC and cannot renew itself: make a key (smki officer keygen --out DIR) and have the officer who may appoint you re-issue it for DIR/officer.csr (smki officer reissue)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			credDir(t, dir, tc.notAfter, "x")
			var w bytes.Buffer
			WarnExpiring(&w, dir, now)
			if tc.want == "" && w.Len() != 0 || !strings.Contains(w.String(), tc.want) {
				t.Errorf("warning %q, want %q", w.String(), tc.want)
			}
		})
	}
	var w bytes.Buffer
	WarnExpiring(&w, t.TempDir(), now)
	if w.Len() != 0 {
		t.Errorf("no credential: %q", w.String())
	}
}
