package console

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/ra/adtfile"
	"github.com/smki/smki/ra/ratest"
	"github.com/smki/smki/role"
)

// TestWithdrawADTPage: the ADT page shows a file in force with a Withdraw
// button to the SC user's party's officers; withdrawing leaves the file
// listed with who withdrew it and why, and sent again it is 409
// E_RA_INACTIVE on the page (docs/console.md, docs/adt.md).
func TestWithdrawADTPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	supplier := eui64.MustParse("90-B3-D5-1F-30-01-00-1B")
	if _, err := e.svc.CreateUser(ctx, e.admin, supplier, e.partyB, role.ImportSupplier, "IS of Party B"); err != nil {
		t.Fatal(err)
	}
	_, cred, err := e.svc.AppointOfficer(ctx, e.actor("sro-a"), ra.OfficerRequest{ID: "aro-adt", Name: "ADT officer", Kind: ra.KindARO, PartyID: e.partyA})
	if err != nil {
		t.Fatal(err)
	}
	e.certs["aro-adt"] = ratest.ParseCert(t, cred.CertPEM)
	b, _ := pem.Decode(cred.KeyPEM)
	key, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	file := []byte(`{"format":"smki-adt/1","sc_user":"` + e.userA.String() + `","supplier_user":"` + supplier.String() +
		`","thresholds":[{"srv":"1.6","period":"24h","warning":10,"quarantine":50}]}`)
	sig, err := adtfile.Sign(key.(crypto.Signer), file)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SubmitADT(ctx, e.actor("aro-adt"), file, sig); err != nil {
		t.Fatal(err)
	}

	ck, csrf := e.signIn("aro-adt")
	if w := e.do("GET", "/console/adt", nil, ck, nil, nil); !strings.Contains(w.Body.String(), `class="withdraw-adt"`) {
		t.Fatal("the ADT page shows no Withdraw button for a file in force")
	}
	form := url.Values{"csrf": {csrf}, "sc_user": {e.userA.String()}, "supplier_user": {supplier.String()}, "reason": {"stop"}}
	w := e.do("POST", "/console/adt/withdraw", form, ck, nil, nil)
	body := w.Body.String()
	if w.Code != http.StatusOK || !strings.Contains(body, "withdrawn by aro-adt") || !strings.Contains(body, ": stop") || strings.Contains(body, `class="withdraw-adt"`) {
		t.Fatalf("withdraw: %d %s", w.Code, between(body, `<table id="adt">`, `</table>`))
	}
	w = e.do("POST", "/console/adt/withdraw", form, ck, nil, nil)
	if box := between(w.Body.String(), `<div class="error" role="alert">`, "</div>"); w.Code != http.StatusConflict || !strings.Contains(box, "E_RA_INACTIVE") {
		t.Fatalf("sent again: %d %q, want 409 E_RA_INACTIVE", w.Code, box)
	}
}
