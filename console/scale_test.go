package console

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"html"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/records"
	"github.com/smki/smki/store"
)

// putCerts stores n good certificates of party A's SC user, expiring at
// notAfter, straight into the store (in batches: this is setup).
func (e *env) putCerts(n int, notAfter time.Time) {
	e.t.Helper()
	now := e.clk.Now()
	for done := 0; done < n; {
		batch := min(2000, n-done)
		err := e.st.Update(context.Background(), func(tx store.Tx) error {
			for range batch {
				var x [16]byte
				rand.Read(x[:])
				s := hex.EncodeToString(x[:])
				if err := tx.PutCertificate(store.Certificate{Serial: s, Issuer: "issuing-ca", UserID: e.userA.String(), PartyID: e.partyA.String(),
					Profile: "xml-signing", Role: "SC", KeyHash: s, NotBefore: now, NotAfter: notAfter, IssuedAt: now, DER: make([]byte, 600)}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			e.t.Fatal(err)
		}
		done += batch
	}
}

// TestListPagesAt100kCertificates: with 100,000 certificates (a large
// Supplier's, all of one user) every page that lists certificates lists
// a bounded page of them and links on, for an RA operator and for the
// party's SRO: first with none expiring within 30 days (the home page
// reads them all and says "None."), then with all of them (it lists the
// first 20 and links to the rest). Before, the home page listed every
// certificate expiring within 30 days (20 MB of HTML) and a user's page
// every certificate of the user (25 MB).
func TestListPagesAt100kCertificates(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("stores 100,000 certificates")
	}
	e := newEnv(t)
	e.putCerts(100_000, e.clk.Now().AddDate(0, 0, 60))
	// One certificate of another role, last by serial: a search by role
	// finds it on its first page (before, the role filtered each page of
	// 500 after it was read, and its first 200 pages were empty).
	const isSerial = "7fffffffffffffffffffffffffffffff"
	err := e.st.Update(context.Background(), func(tx store.Tx) error {
		now := e.clk.Now()
		return tx.PutCertificate(store.Certificate{Serial: isSerial, Issuer: "issuing-ca", UserID: e.userB.String(), PartyID: e.partyB.String(),
			Profile: "xml-signing", Role: "IS", KeyHash: isSerial, NotBefore: now, NotAfter: now.AddDate(1, 0, 0), IssuedAt: now, DER: make([]byte, 600)})
	})
	if err != nil {
		t.Fatal(err)
	}
	const maxPage = 1 << 20 // a page of 500 rows is about 130 kB
	check := func(phase string, pages []struct{ path, want string }) {
		for _, who := range []string{"admin", "sro-a"} {
			ck, _ := e.signIn(who)
			for _, p := range pages {
				t0 := time.Now()
				w := e.do("GET", p.path, nil, ck, nil, nil)
				took := time.Since(t0)
				body := w.Body.String()
				t.Logf("%s, %s %s: %d, %d bytes, %v", phase, who, p.path, w.Code, len(body), took)
				if w.Code != http.StatusOK || len(body) > maxPage || strings.Count(body, "<tr>") > certPageSize+2 {
					t.Errorf("%s, %s %s: %d, %d bytes, %d rows: want 200, one page (at most %d rows, %d bytes)",
						phase, who, p.path, w.Code, len(body), strings.Count(body, "<tr>"), certPageSize, maxPage)
				}
				if !strings.Contains(body, p.want) {
					t.Errorf("%s, %s %s: the page lacks %s", phase, who, p.path, p.want)
				}
			}
		}
	}
	lists := []struct{ path, want string }{
		{"/console/certificates", `id="next-page"`},
		{"/console/certificates?party=" + e.partyA.String() + "&status=good", `id="next-page"`},
		{"/console/users/" + e.userA.String(), `id="next-page"`},
	}
	ck, _ := e.signIn("admin")
	for _, q := range []string{"role=IS", "role=is&status=good"} {
		if body := e.do("GET", "/console/certificates?"+q, nil, ck, nil, nil).Body.String(); !strings.Contains(body, isSerial) || strings.Contains(body, `id="next-page"`) {
			t.Errorf("certificates?%s: the one IS certificate is not on the first and only page", q)
		}
	}
	check("none expiring", append(lists, struct{ path, want string }{"/console/", "Certificates expiring within 30 days</h3>\n<p>None.</p>"}))
	e.clk.Advance(40 * 24 * time.Hour)
	check("all expiring", append(lists,
		struct{ path, want string }{"/console/", `<a id="more-expiring" href="/console/certificates?status=good&amp;expiring=30">`},
		struct{ path, want string }{"/console/certificates?status=good&expiring=30", `id="next-page"`}))
}

// TestDevicePagesAt100kDevices: the device registry (which grows to
// millions) is listed a page at a time, with the count and a link to the
// next page that keeps the supplier; following the links reaches every
// device once. Before, the page listed every device of the registry.
func TestDevicePagesAt100kDevices(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("stores 100,000 devices")
	}
	e := newEnv(t)
	const n = 100_000
	for done := 0; done < n; {
		batch := min(5000, n-done)
		err := e.st.Update(context.Background(), func(tx store.Tx) error {
			for i := done; i < done+batch; i++ {
				var id eui64.ID
				binary.BigEndian.PutUint64(id[:], 0x90B3D51F300D0000+uint64(i))
				d := records.Device{Device: id, SupplierUser: e.userA, SMETS: 2, ImportedBy: "admin", ImportedAt: e.clk.Now()}
				if err := tx.PutRecord(records.KindDevice, id.String(), records.EncodeDevice(d)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		done += batch
	}
	ck, _ := e.signIn("admin")
	for _, path := range []string{"/console/devices", "/console/devices?supplier=" + e.userA.String()} {
		t0 := time.Now()
		w := e.do("GET", path, nil, ck, nil, nil)
		body := w.Body.String()
		t.Logf("%s: %d, %d bytes, %v", path, w.Code, len(body), time.Since(t0))
		if w.Code != http.StatusOK || len(body) > 1<<20 || strings.Count(body, "<tr>") > certPageSize+2 || !strings.Contains(body, `id="next-page"`) {
			t.Fatalf("%s: %d, %d bytes, %d rows: want one page of at most %d with a link to the next", path, w.Code, len(body), strings.Count(body, "<tr>"), certPageSize)
		}
	}
	// Follow the supplier's pages, with a small page.
	e.c.certPage = 30_000
	seen := map[string]bool{}
	next := "/console/devices?supplier=" + e.userA.String()
	for pages := 0; next != ""; pages++ {
		if pages > 4 {
			t.Fatal("more pages than devices")
		}
		body := e.do("GET", next, nil, ck, nil, nil).Body.String()
		for _, row := range strings.Split(between(body, `<table id="devices">`, "</table>"), "<tr><td>")[1:] {
			d := row[:strings.Index(row, "<")]
			if seen[d] {
				t.Fatalf("device %s listed twice", d)
			}
			seen[d] = true
		}
		next = html.UnescapeString(between(body, `<a id="next-page" href="`, `"`))
		if next != "" && !strings.Contains(next, "supplier="+e.userA.String()) {
			t.Fatalf("next page %q lost the supplier", next)
		}
	}
	if len(seen) != n {
		t.Fatalf("the pages listed %d devices, want %d", len(seen), n)
	}
}
