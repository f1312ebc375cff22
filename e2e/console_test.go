package e2e

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/smki/smki/internal/need"
)

// consoleBrowser drives one headless Chromium against the console of a
// real `smki serve`.
type consoleBrowser struct {
	t    *testing.T
	ctx  context.Context
	base string
	ra   raSession
}

// do runs chromedp actions, failing the test with what it was doing.
func (b *consoleBrowser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		html, _ := chromedp.Run(b.ctx, chromedp.OuterHTML(chromedp.CSS("main")))
		b.t.Fatalf("%s: %v\npage:\n%s", what, err, html)
	}
}

// into runs a and stores its value in p.
func into[T any](p *T, a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		v, err := a(ctx, t)
		*p = v
		return chromedp.Void{}, err
	}
}

// text is the visible text of the page's main element.
func (b *consoleBrowser) text() string {
	b.t.Helper()
	var s string
	b.do("reading the page", into(&s, chromedp.Text(chromedp.CSS("main"))))
	return s
}

// signIn signs officer (a credential directory) in with a login link from
// `smki console open`, as a person would: the link, then its button.
func (b *consoleBrowser) signIn(officer, id string) {
	b.t.Helper()
	link := strings.TrimSpace(b.ra.as(officer).must("console", "open", "--no-browser").stdout)
	if !strings.HasPrefix(link, b.base+"/console/login/") {
		b.t.Fatalf("console open printed %q", link)
	}
	var who string
	b.do("signing in "+id, chromedp.Navigate(link), chromedp.Click(chromedp.CSS("#link-signin")),
		chromedp.WaitVisible(chromedp.CSS("#whoami")), into(&who, chromedp.Text(chromedp.CSS("#whoami"))))
	if !strings.HasPrefix(who, id+" (") {
		b.t.Fatalf("signed in as %q, want %s", who, id)
	}
}

func (b *consoleBrowser) signOut() {
	b.t.Helper()
	b.do("signing out", chromedp.Click(chromedp.CSS("#signout")), chromedp.WaitVisible(chromedp.CSS("main ol")))
}

// appoint appoints an officer through the console from a key the
// appointee made (smki officer keygen) and completes the appointee's
// credential directory with the cert.pem and ca.pem the page shows.
func (b *consoleBrowser) appoint(work, id, kind, party string) string {
	b.t.Helper()
	dir := filepath.Join(work, id)
	mustRun(b.t, nil, "officer", "keygen", "--out", dir)
	csr, err := os.ReadFile(filepath.Join(dir, "officer.csr"))
	if err != nil {
		b.t.Fatal(err)
	}
	var certPEM, caPEM string
	b.do("appointing "+id, chromedp.Navigate(b.base+"/console/officers"),
		chromedp.SetValue(chromedp.CSS("#oid"), id), chromedp.SetValue(chromedp.CSS("#oname"), "Officer "+id),
		chromedp.SetValue(chromedp.CSS("#kind"), kind), chromedp.SetValue(chromedp.CSS("#party_id"), party),
		chromedp.SetValue(chromedp.CSS("#csr"), string(csr)),
		chromedp.Submit(chromedp.CSS("#appoint")), chromedp.WaitVisible(chromedp.CSS("#appointed")),
		into(&certPEM, chromedp.Value(chromedp.CSS("#cert-pem"))), into(&caPEM, chromedp.Value(chromedp.CSS("#ca-pem"))))
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), []byte(certPEM), 0o644); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), []byte(caPEM), 0o644); err != nil {
		b.t.Fatal(err)
	}
	return dir
}

// screenshot writes the page at 1280x800 to dir/name.
func (b *consoleBrowser) screenshot(dir, name string) {
	b.t.Helper()
	var png []byte
	b.do("screenshot "+name, into(&png, chromedp.CaptureScreenshot()))
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", p)
}

// TestConsoleInBrowser is issue 17's acceptance on a real Chromium and a
// real `smki serve`: sign-in by login link; an RA operator creates a party,
// users and an SRO; the SRO appoints an ARO; the ARO enrols an SC user from
// an uploaded CSR and downloads the certificate (openssl verifies it), is
// refused digital-signing with the code on the page, and sees party B's
// user as not there; a device file checked (dry run) then imported; a
// cross-site POST without the token is refused; the
// SoLR four-eyes rule; a bulk revocation dry run and confirm; the audit
// page shows channel=console and the chain verifies.
func TestConsoleInBrowser(t *testing.T) {
	t.Parallel()
	requirement(t, "L1", "L2", "R2")
	chromium := need.Tool(t, "chromium", "chromium")
	openssl := need.Tool(t, "openssl", "openssl")
	data := filepath.Join(t.TempDir(), "data")
	srv := startServer(t, exec.Command(smkiBin, "serve", "--dev"), data)
	work := t.TempDir()
	base := "https://" + srv.addr
	shots := os.Getenv("SMKI_CONSOLE_SHOTS")
	if shots == "" {
		var err error
		if shots, err = os.MkdirTemp("", "smki-console-shots-"); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	downloads := t.TempDir()

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 800), chromedp.Flag("ignore-certificate-errors", true))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	bctx, cancelB := chromedp.NewContext(actx)
	defer cancelB()
	b := &consoleBrowser{t: t, ctx: bctx, base: base,
		ra: raSession{t: t, url: base, officer: filepath.Join(data, "officers", "admin")}}
	// The first run starts the browser: no timeout on its context, which
	// would stop the browser with it.
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(1280, 800),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
				Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads})
			return err
		})); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}

	const (
		srp        = "90-B3-D5-1F-30-00-00-5C"
		srpSC      = "90-B3-D5-1F-30-05-00-00"
		supplier   = "90-B3-D5-1F-30-00-00-0A"
		supplierIS = "90-B3-D5-1F-30-01-00-00"
	)
	admin := filepath.Join(data, "officers", "admin")
	b.signIn(admin, "admin")
	for _, p := range []struct{ id, name, user, role, uname string }{
		{srp, "SRP One", srpSC, "SC", "SRP contingency"},
		{supplier, "Supplier A", supplierIS, "IS", "Supplier A import"},
	} {
		b.do("creating party "+p.name, chromedp.Navigate(base+"/console/parties"),
			chromedp.SetValue(chromedp.CSS("#id"), p.id), chromedp.SetValue(chromedp.CSS("#name"), p.name),
			chromedp.Submit(chromedp.CSS("#create-party")), chromedp.WaitVisible(chromedp.CSS("#create-user")),
			chromedp.SetValue(chromedp.CSS("#user_id"), p.user), chromedp.SetValue(chromedp.CSS("#role"), p.role),
			chromedp.SetValue(chromedp.CSS("#user_name"), p.uname),
			chromedp.Submit(chromedp.CSS("#create-user")), chromedp.WaitVisible(chromedp.CSS("dl")))
		if txt := b.text(); !strings.Contains(txt, p.user) || !strings.Contains(txt, p.role) {
			t.Fatalf("user page: %s", txt)
		}
	}
	// A device file uploaded as CSV, then the registry of its supplier.
	devices := filepath.Join(work, "devices.csv")
	os.WriteFile(devices, []byte("device_eui64,supplier_user_id,smets\n90-B3-D5-1F-30-0D-00-01,"+supplierIS+",2\n"), 0o644)
	var devNotice, devTable string
	// First the dry run (the CLI's --dry-run): what the import would do,
	// nothing written.
	b.do("checking the device file", chromedp.Navigate(base+"/console/devices?supplier="+supplierIS),
		chromedp.SetUploadFiles(chromedp.CSS("#devices_file"), []string{devices}),
		chromedp.Click(chromedp.CSS("#devices-check")), chromedp.WaitVisible(chromedp.CSS("#notice")),
		into(&devNotice, chromedp.Text(chromedp.CSS("#notice"))),
		into(&devTable, chromedp.Text(chromedp.CSS("#devices"))))
	if devNotice != "dry run: would import 1 device(s): 1 new, 0 changed; nothing was written." || strings.Contains(devTable, "90-B3-D5-1F-30-0D-00-01") {
		t.Fatalf("device file dry run: %q\n%s", devNotice, devTable)
	}
	b.do("importing devices", chromedp.Navigate(base+"/console/devices?supplier="+supplierIS),
		chromedp.SetUploadFiles(chromedp.CSS("#devices_file"), []string{devices}),
		chromedp.Submit(chromedp.CSS("#devices-import")), chromedp.WaitVisible(chromedp.CSS("#notice")),
		into(&devNotice, chromedp.Text(chromedp.CSS("#notice"))),
		chromedp.Navigate(base+"/console/devices?supplier="+supplierIS), chromedp.WaitVisible(chromedp.CSS("#devices")),
		into(&devTable, chromedp.Text(chromedp.CSS("#devices"))))
	if devNotice != "imported 1 device(s): 1 new, 0 changed." || !strings.Contains(devTable, "90-B3-D5-1F-30-0D-00-01") || !strings.Contains(devTable, supplierIS) {
		t.Fatalf("device import: %q\n%s", devNotice, devTable)
	}
	sro := b.appoint(work, "srp-sro", "sro", srp)
	b.do("home page", chromedp.Navigate(base+"/console/"), chromedp.WaitVisible(chromedp.CSS("#att")))
	b.screenshot(shots, "console-home.png")
	b.signOut()

	b.signIn(sro, "srp-sro")
	aro := b.appoint(work, "srp-aro", "aro", srp)
	b.signOut()

	// The ARO enrols the SC user from an uploaded CSR made by openssl.
	b.signIn(aro, "srp-aro")
	key, csr := filepath.Join(work, "sc.key"), filepath.Join(work, "sc.csr")
	if r := runCmd(t, nil, openssl, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r := runCmd(t, nil, openssl, "req", "-new", "-key", key, "-subj", "/CN=srp-sc-xml/OU=87/x500UniqueIdentifier=90B3D51F30050000", "-out", csr); r.code != 0 {
		t.Fatal(r.stderr)
	}
	var serial string
	b.do("enrolling", chromedp.Navigate(base+"/console/enrol"),
		chromedp.SetValue(chromedp.CSS("#user_id"), srpSC), chromedp.SetValue(chromedp.CSS("#profile"), "xml-signing"),
		chromedp.SetUploadFiles(chromedp.CSS("#csr_file"), []string{csr}),
		chromedp.Submit(chromedp.CSS("#enrol")), chromedp.WaitVisible(chromedp.CSS("#issued")),
		into(&serial, chromedp.Text(chromedp.CSS("#issued-serial"))))
	b.screenshot(shots, "console-enrol.png")
	b.do("downloading the certificate", chromedp.Click(chromedp.CSS("#download")))
	certFile := filepath.Join(downloads, serial+".pem")
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if fi, err := os.Stat(certFile); err == nil && fi.Size() > 0 {
			break
		}
	}
	_, rootPEM := srv.get(t, "/roots")
	_, issPEM := srv.get(t, "/ca/issuing.pem")
	os.WriteFile(filepath.Join(work, "root.pem"), rootPEM, 0o644)
	os.WriteFile(filepath.Join(work, "issuing.pem"), issPEM, 0o644)
	if r := runCmd(t, nil, openssl, "verify", "-CAfile", filepath.Join(work, "root.pem"),
		"-untrusted", filepath.Join(work, "issuing.pem"), certFile); r.code != 0 || !strings.Contains(r.stdout, "OK") {
		t.Fatalf("openssl verify of the downloaded certificate: %s %s", r.stdout, r.stderr)
	}
	// Digital signing for SC is refused, with the code next to the field.
	b.do("asking for digital-signing", chromedp.Navigate(base+"/console/enrol"),
		chromedp.SetValue(chromedp.CSS("#user_id"), srpSC), chromedp.SetValue(chromedp.CSS("#profile"), "digital-signing"),
		chromedp.SetUploadFiles(chromedp.CSS("#csr_file"), []string{csr}),
		chromedp.Submit(chromedp.CSS("#enrol")), chromedp.WaitVisible(chromedp.CSS("#enrol .error")))
	if txt := b.text(); !strings.Contains(txt, "E_RA_NOT_ELIGIBLE") || strings.Contains(txt, "Issued") {
		t.Fatalf("digital-signing for SC: %s", txt)
	}
	// Party B's user is the same page as a user that does not exist.
	page := func(id string) string {
		var s string
		b.do("opening user "+id, chromedp.Navigate(base+"/console/users/"+id), chromedp.WaitVisible(chromedp.CSS("main h1")),
			into(&s, chromedp.OuterHTML(chromedp.CSS("main"))))
		return strings.ReplaceAll(s, id, "ID")
	}
	theirs, absent := page(supplierIS), page("90-B3-D5-1F-30-01-0F-0F")
	if theirs != absent || !strings.Contains(theirs, "E_RA_NOT_FOUND") || strings.Contains(theirs, "Supplier A") {
		t.Fatalf("party B's user:\n%s\nan absent user:\n%s", theirs, absent)
	}
	// A cross-site POST with the session cookie but without the token.
	var cookies []*network.Cookie
	b.do("reading the session cookie", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{base + "/console/"}})
		cookies = res.Cookies
		return err
	}))
	if len(cookies) != 1 || !cookies[0].HTTPOnly || !cookies[0].Secure || cookies[0].SameSite != network.CookieSameSiteStrict {
		t.Fatalf("session cookie: %+v", cookies)
	}
	req, _ := http.NewRequest("POST", base+"/console/revoke-party", strings.NewReader(url.Values{"party_id": {srp}, "confirm": {"yes"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://attacker.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.AddCookie(&http.Cookie{Name: cookies[0].Name, Value: cookies[0].Value})
	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: srv.client.Transport.(*http.Transport).TLSClientConfig.RootCAs}}}
	resp, err := insecure.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "E_CONSOLE_CSRF") {
		t.Fatalf("cross-site POST: %d %s", resp.StatusCode, body)
	}
	// The ARO uploads an ADT file with their signature over it, then
	// views the SC user's ADT files.
	adt, adtSig := filepath.Join(work, "adt.json"), filepath.Join(work, "adt.sig")
	os.WriteFile(adt, []byte(`{"format":"smki-adt/1","sc_user":"`+srpSC+`","supplier_user":"`+supplierIS+
		`","thresholds":[{"srv":"1.6","period":"24h","warning":100,"quarantine":1000}]}`), 0o644)
	if r := runCmd(t, nil, openssl, "dgst", "-sha256", "-sign", filepath.Join(aro, "key.pem"), "-out", adtSig, adt); r.code != 0 {
		t.Fatal(r.stderr)
	}
	var adtTable string
	b.do("uploading an ADT file", chromedp.Navigate(base+"/console/adt"),
		chromedp.SetUploadFiles(chromedp.CSS("#adt_file"), []string{adt}), chromedp.SetUploadFiles(chromedp.CSS("#sig_file"), []string{adtSig}),
		chromedp.Submit(chromedp.CSS("#adt-submit")), chromedp.WaitVisible(chromedp.CSS("#notice")),
		chromedp.Navigate(base+"/console/adt?sc="+srpSC), chromedp.WaitVisible(chromedp.CSS("#adt")),
		into(&adtTable, chromedp.Text(chromedp.CSS("#adt"))))
	if !strings.Contains(adtTable, srpSC) || !strings.Contains(adtTable, "1.6: 100 / 1000 per 24h0m0s") || !strings.Contains(adtTable, "srp-aro") {
		t.Fatalf("ADT files of %s: %s", srpSC, adtTable)
	}
	b.signOut()

	// The Supplier-failure night: admin records the instruction, may not
	// approve it; the approver, holding a key it made, approves.
	b.signIn(admin, "admin")
	var eventURL string
	b.do("declaring the SoLR event", chromedp.Navigate(base+"/console/solr"),
		chromedp.SetValue(chromedp.CSS("#failed_party"), supplier), chromedp.SetValue(chromedp.CSS("#srp_user"), srpSC),
		chromedp.SetValue(chromedp.CSS("#instruction"), "AUTHORITY-2026-017"),
		chromedp.Submit(chromedp.CSS("#declare")), chromedp.WaitVisible(chromedp.CSS("#event")),
		into(&eventURL, chromedp.Location()),
		chromedp.Click(chromedp.CSS("#approve-submit")), chromedp.WaitVisible(chromedp.CSS("#approve .error")))
	if txt := b.text(); !strings.Contains(txt, "E_RA_FOUR_EYES") || !strings.Contains(txt, "declared") {
		t.Fatalf("self-approval: %s", txt)
	}
	b.signOut()
	approver := filepath.Join(data, "officers", "approver")
	b.ra.as(approver).must("officer", "renew")
	b.signIn(approver, "approver")
	var state string
	b.do("approving", chromedp.Navigate(eventURL), chromedp.Click(chromedp.CSS("#approve-submit")),
		chromedp.WaitNotPresent(chromedp.CSS("#approve")), into(&state, chromedp.Text(chromedp.CSS("#event-state"))))
	if state == "declared" {
		t.Fatalf("event state after approval: %s", state)
	}
	b.signOut()

	// A party's bulk revocation: the dry run lists, the confirm revokes.
	b.signIn(admin, "admin")
	b.do("bulk revocation dry run", chromedp.Navigate(base+"/console/revoke-party?party="+srp),
		chromedp.SetValue(chromedp.CSS("#reason"), "cessationOfOperation"),
		chromedp.Click(chromedp.CSS("#dry-run")), chromedp.WaitVisible(chromedp.CSS("#confirm")))
	if txt := b.text(); !strings.Contains(txt, serial) || !strings.Contains(txt, "Would revoke 1 certificates") {
		t.Fatalf("dry run: %s", txt)
	}
	// The confirm step leads to the job's progress page, which (with
	// progress.js, or its refresh) ends showing the final count.
	var jobURL, progress string
	b.do("confirming", chromedp.Click(chromedp.CSS("#confirm")), chromedp.WaitVisible(chromedp.CSS("#notice")),
		into(&jobURL, chromedp.Location()), into(&progress, chromedp.Text(chromedp.CSS("#progress-text"))))
	if !strings.Contains(jobURL, "/console/revoke-party/jobs/") || progress != "1 certificates revoked." {
		t.Fatalf("progress page %s: %q\n%s", jobURL, progress, b.text())
	}
	var status string
	b.do("certificate status", chromedp.Navigate(base+"/console/certificates/"+serial), into(&status, chromedp.Text(chromedp.CSS("#cert-status"))))
	if !strings.HasPrefix(status, "revoked") {
		t.Fatalf("certificate %s is %q after the bulk revocation", serial, status)
	}

	// The audit page: each action above, through the console, and the
	// refusals of party B's user (audited as refused, though the page said
	// "not found") and of an absent one; the chain verifies.
	var auditHTML, chain string
	b.do("audit page", chromedp.Navigate(base+"/console/audit"), chromedp.Click(chromedp.CSS("#verify-chain")),
		chromedp.WaitVisible(chromedp.CSS("#chain-result")), into(&chain, chromedp.Text(chromedp.CSS("#chain-result"))),
		into(&auditHTML, chromedp.OuterHTML(chromedp.CSS("#audit"))))
	if !strings.HasPrefix(chain, "The chain holds") {
		t.Fatalf("verify chain: %s", chain)
	}
	rows := strings.Split(auditHTML, "<tr>")
	for _, want := range []struct{ actor, action, result string }{
		{"admin", "party.create", "allowed"},
		{"admin", "user.create", "allowed"},
		{"admin", "officer.appoint", "allowed"},
		{"srp-sro", "officer.appoint", "allowed"},
		{"srp-aro", "cert.enrol", "allowed"},
		{"srp-aro", "cert.enrol", "refused: E_RA_NOT_ELIGIBLE"},
		{"srp-aro", "party.read", "refused: E_RA_FORBIDDEN"},
		{"srp-aro", "party.read", "refused: E_RA_NOT_FOUND"},
		{"srp-aro", "adt.submit", "allowed"},
		{"admin", "device.import", "allowed"},
		{"admin", "solr.declare", "allowed"},
		{"admin", "solr.approve", "refused: E_RA_FOUR_EYES"},
		{"approver", "solr.approve", "allowed"},
		{"admin", "cert.revoke-party", "allowed"},
	} {
		found := false
		for _, r := range rows {
			if strings.Contains(r, "<td>"+want.actor+"</td><td>"+want.action+"</td>") &&
				strings.Contains(r, "<td>"+want.result) && strings.Contains(r, "channel=console") {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("audit page: no %s %s %s with channel=console", want.actor, want.action, want.result)
		}
	}

	// WCAG AA colour contrast on each main page, an error page and the
	// sign-in page (plain and with a spent link's error), and
	// keyboard-only use of the enrolment form with visible focus.
	b.checkContrast("/console/", "/console/parties", "/console/parties/"+srp, "/console/users/"+srpSC, "/console/officers",
		"/console/enrol", "/console/certificates", "/console/certificates/"+serial, "/console/revoke-party", "/console/solr",
		"/console/adt", "/console/devices", "/console/allow-list", "/console/audit", "/console/users/90-B3-D5-1F-30-01-0F-0F",
		"/console/login", "/console/login/not-a-login-link")
	b.tabThroughEnrol(srpSC)
}

// TestOfficerExportP12: `smki officer export --p12` writes the credential
// as a PKCS#12 that openssl opens with the passphrase (and not without),
// holding the officer's certificate and the access root; with no
// passphrase file it prints a new one that opens it.
func TestOfficerExportP12(t *testing.T) {
	t.Parallel()
	openssl := need.Tool(t, "openssl", "openssl")
	work := t.TempDir()
	cred := filepath.Join(work, "ann")
	mustRun(t, nil, "officer", "keygen", "--out", cred)
	// A self-made certificate for the key stands in for the RA's: export
	// reads the directory only.
	key := filepath.Join(cred, "key.pem")
	if r := runCmd(t, nil, openssl, "req", "-x509", "-new", "-key", key, "-subj", "/CN=ann/OU=ra-approver/O=RA", "-days", "1",
		"-out", filepath.Join(cred, "cert.pem")); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r := runCmd(t, nil, "cp", filepath.Join(cred, "cert.pem"), filepath.Join(cred, "ca.pem")); r.code != 0 {
		t.Fatal(r.stderr)
	}
	pass := filepath.Join(work, "pass")
	os.WriteFile(pass, []byte("correct horse\n"), 0o600)
	p12 := filepath.Join(work, "ann.p12")
	mustRun(t, nil, "officer", "export", "--p12", "--officer", cred, "--out", p12, "--passphrase-file", pass)
	r := runCmd(t, nil, openssl, "pkcs12", "-in", p12, "-passin", "pass:correct horse", "-nokeys", "-clcerts")
	if r.code != 0 || !strings.Contains(r.stdout, "subject=CN = ann") {
		t.Fatalf("openssl pkcs12 with the passphrase: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := runCmd(t, nil, openssl, "pkcs12", "-in", p12, "-passin", "pass:wrong", "-nokeys"); r.code == 0 {
		t.Fatal("openssl opened the PKCS#12 with a wrong passphrase")
	}
	if r := run(t, nil, "officer", "export", "--p12", "--officer", cred, "--out", p12, "--passphrase-file", pass); r.code == 0 {
		t.Fatal("export replaced an existing file")
	}
	p12b := filepath.Join(work, "ann2.p12")
	out := mustRun(t, nil, "officer", "export", "--p12", "--officer", cred, "--out", p12b).stdout
	i := strings.Index(out, "passphrase (shown once): ")
	if i < 0 {
		t.Fatalf("no passphrase printed: %s", out)
	}
	printed := strings.TrimSpace(out[i+len("passphrase (shown once): "):])
	if r := runCmd(t, nil, openssl, "pkcs12", "-in", p12b, "-passin", "pass:"+printed, "-nokeys", "-clcerts"); r.code != 0 {
		t.Fatalf("the printed passphrase does not open it: %s", r.stderr)
	}
}

// contrastJS lists the visible text of the page (text nodes, form
// controls) whose colour contrast with its effective background is under
// WCAG 2.1 AA (4.5:1, 3:1 for large text: 24px, or 18.66px bold), from
// the computed styles; translucent backgrounds are composited over their
// ancestors' down to the first opaque one (white at the root).
const contrastJS = `(() => {
  const parse = s => { const m = /rgba?\(([^)]+)\)/.exec(s); if (!m) return null;
    const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
  const over = (c, bg) => [0, 1, 2].map(k => c[k] * c[3] + bg[k] * (1 - c[3]));
  const bgOf = el => { const layers = [];
    for (let e = el; e; e = e.parentElement) { const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; } }
    let bg = [255, 255, 255]; for (let i = layers.length - 1; i >= 0; i--) bg = over(layers[i], bg); return bg; };
  const fails = []; let n = 0;
  for (const el of document.body.querySelectorAll('*')) {
    const control = ['SELECT', 'TEXTAREA', 'BUTTON'].includes(el.tagName) || (el.tagName === 'INPUT' && !['hidden', 'file'].includes(el.type));
    if (!control && ![...el.childNodes].some(t => t.nodeType === 3 && t.textContent.trim())) continue;
    const r = el.getBoundingClientRect(), cs = getComputedStyle(el);
    if (r.width === 0 || r.height === 0 || cs.visibility === 'hidden' || r.right < 0 || r.bottom < 0) continue;
    const bg = bgOf(el), fg = over(parse(cs.color), bg);
    const a = lum(fg), b = lum(bg), ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(cs.fontSize), large = size >= 24 || (size >= 18.66 && parseInt(cs.fontWeight) >= 700);
    const need = large ? 3 : 4.5; n++;
    if (ratio < need) fails.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' "' + el.textContent.trim().slice(0, 30) + '" ' + ratio.toFixed(2) + ':1 < ' + need + ':1');
  }
  return JSON.stringify({n: n, fails: fails});
})()`

// checkContrast fails the test for every text element of each page whose
// colour contrast is under WCAG AA (contrastJS).
func (b *consoleBrowser) checkContrast(paths ...string) {
	b.t.Helper()
	for _, p := range paths {
		var res string
		b.do("contrast of "+p, chromedp.Navigate(b.base+p), chromedp.WaitVisible(chromedp.CSS("main h1")),
			into(&res, chromedp.Evaluate[string](contrastJS)))
		var r struct {
			N     int      `json:"n"`
			Fails []string `json:"fails"`
		}
		if err := json.Unmarshal([]byte(res), &r); err != nil || r.N < 5 {
			b.t.Fatalf("contrast of %s: checked %d elements (%v)", p, r.N, err)
		}
		for _, f := range r.Fails {
			b.t.Errorf("contrast of %s: %s", p, f)
		}
	}
}

// focusJS describes the focused element: its id and whether a focus
// outline of at least 2px shows.
const focusJS = `(() => { const e = document.activeElement, cs = getComputedStyle(e);
  return (e.id || e.tagName.toLowerCase()) + (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 2 ? '' : ' (no visible focus)'); })()`

// tabThroughEnrol walks the enrolment form with the Tab key alone, typing
// the user ID where it lands, and checks each stop shows its focus.
func (b *consoleBrowser) tabThroughEnrol(user string) {
	b.t.Helper()
	b.do("enrolment page", chromedp.Navigate(b.base+"/console/enrol"), chromedp.WaitVisible(chromedp.CSS("#enrol")))
	var stops []string
	for range 30 {
		var f string
		b.do("tab", chromedp.KeyEvent("\t"), into(&f, chromedp.Evaluate[string](focusJS)))
		stops = append(stops, f)
		if f == "user_id" {
			b.do("typing the user ID", chromedp.KeyEvent(user))
		}
		if strings.HasPrefix(f, "enrol-submit") {
			break
		}
	}
	want := []string{"user_id", "profile", "csr_file", "csr", "enrol-submit"}
	i := 0
	for _, s := range stops {
		if strings.HasSuffix(s, "(no visible focus)") {
			b.t.Errorf("tab stop %s", s)
		}
		if i < len(want) && s == want[i] {
			i++
		}
	}
	if i < len(want) || stops[0] != "a" {
		b.t.Fatalf("tab stops %v: want the skip link first, then %v in order", stops, want)
	}
	var typed string
	b.do("reading the user ID", into(&typed, chromedp.Value(chromedp.CSS("#user_id"))))
	if typed != user {
		b.t.Fatalf("typed user ID %q, want %q", typed, user)
	}
}
