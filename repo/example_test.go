package repo_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/smki/smki/repo"
	"github.com/smki/smki/store/bolt"
)

// ExampleNew mounts the repository and fetches the Root OCA from it, then
// asks again with the ETag it was given.
func ExampleNew() {
	dir, _ := os.MkdirTemp("", "repo-example")
	defer os.RemoveAll(dir)
	st, err := bolt.Open(filepath.Join(dir, "smki.db"))
	if err != nil {
		panic(err)
	}
	defer st.Close()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Root"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	ca, _ := x509.ParseCertificate(der)

	h, err := repo.New(repo.Config{Store: st, Root: ca, Issuing: ca})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle(repo.Prefix, h)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp, _ := http.Get(srv.URL + "/repo/ca/root.der")
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("ETag") == repo.ETag(ca.Raw))
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/repo/ca/root.der", nil)
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	resp, _ = http.DefaultClient.Do(req)
	resp.Body.Close()
	fmt.Println(resp.StatusCode)
	// Output:
	// 200 application/pkix-cert true
	// 304
}
