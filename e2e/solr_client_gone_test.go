package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/raapi"
	"github.com/smki/smki/raclient"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
)

// TestBulkRevokeClientGoneMidStream: on the real binary over PostgreSQL,
// an officer's `revoke --party P --yes` client goes away (its connection
// closed) as soon as the RA reports the first serials marked. The RA
// carries the revocation through: every certificate of the party is
// revoked soon after, as `smki certs --party P --status good` shows,
// rather than the whole revocation rolled back because the terminal
// closed.
func TestBulkRevokeClientGoneMidStream(t *testing.T) {
	t.Parallel()
	eng := pgEngine(t)
	data := filepath.Join(t.TempDir(), "data")
	srv := eng.serve(t, data)
	ra := raSession{t: t, url: "https://" + srv.addr, officer: filepath.Join(data, "officers", "admin")}
	const (
		party = "90-B3-D5-1F-30-00-00-0A"
		user  = "90-B3-D5-1F-30-01-00-00"
		n     = 10000 // many progress steps (256 serials each) after the first
	)
	ra.must("party", "create", "--id", party, "--name", "supplier-a")
	ra.must("user", "create", "--id", user, "--party", party, "--role", "IS", "--name", "supplier-a-is")
	st := eng.open(t)
	defer st.Close()
	now := time.Now().UTC()
	if err := st.Update(context.Background(), func(tx store.Tx) error {
		for i := range n {
			if err := tx.PutCertificate(store.Certificate{Serial: fmt.Sprintf("7d%030x", i), Issuer: ca.IssuerIssuing,
				UserID: user, PartyID: party, Profile: string(ca.XMLSigning), Role: string(role.ImportSupplier),
				NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0), IssuedAt: now, DER: []byte{0x30, 0}}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	cl, err := raclient.NewClient(ra.url, ra.officer)
	if err != nil {
		t.Fatal(err)
	}
	ctx, leave := context.WithCancel(context.Background())
	defer leave()
	reported := 0
	_, err = cl.RevokeWithProgress(ctx, raapi.RevokeRequest{PartyID: eui64.MustParse(party), Reason: 5, Yes: true},
		func(done, total int) {
			reported = done
			leave() // the client is killed: its connection closes
		})
	if err == nil || reported == 0 || reported == n {
		t.Fatalf("the client did not leave mid-stream: %v, %d reported of %d", err, reported, n)
	}

	good := func() int {
		var cs []json.RawMessage
		out := ra.must("certs", "--party", party, "--status", "good", "--json").stdout
		if err := json.Unmarshal([]byte(out), &cs); err != nil {
			t.Fatalf("certs: %v\n%.200s", err, out)
		}
		return len(cs)
	}
	deadline := time.Now().Add(30 * time.Second)
	for left := good(); left > 0; left = good() {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d certificates still good 30 s after the client left at %d marked: the revocation was dropped", left, n, reported)
		}
		time.Sleep(200 * time.Millisecond) // polling the outcome, as RA staff would
	}
}
