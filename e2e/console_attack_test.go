package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/smki/smki/internal/need"
)

// TestConsoleBrowserAttacks attacks a signed-in officer's browser, a real
// Chromium against a real `smki serve --dev`: markup in a party's name
// runs no script on the pages that show it; the page's script cannot read
// the session cookie; pages of another origin on the same site (another
// port of the same host: the SameSite=Strict cookie goes with their
// requests) and of another site, submitting the console's forms by
// themselves, change nothing and do not sign the officer out; a page of
// another origin cannot frame the console.
func TestConsoleBrowserAttacks(t *testing.T) {
	t.Parallel()
	chromium := need.Tool(t, "chromium", "chromium")
	data := filepath.Join(t.TempDir(), "data")
	srv := startServer(t, exec.Command(smkiBin, "serve", "--dev"), data)
	base := "https://" + srv.addr
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	if u.Hostname() != "127.0.0.1" {
		t.Skipf("the server is at %s; the same-site attacker needs 127.0.0.1", u.Hostname())
	}

	// The attacker's pages: forms that submit themselves to the console.
	const party = "90-B3-D5-1F-30-00-00-A7"
	attacker := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		switch r.URL.Path {
		case "/party":
			fmt.Fprintf(w, `<form id="f" method="post" action="%s/console/parties"><input name="id" value="90-B3-D5-1F-30-00-00-A8"><input name="name" value="by the attacker"></form><script>document.getElementById("f").submit()</script>`, base)
		case "/revoke":
			fmt.Fprintf(w, `<form id="f" method="post" action="%s/console/revoke-party"><input name="party_id" value="%s"><input name="reason" value="keyCompromise"><input name="confirm" value="yes"></form><script>document.getElementById("f").submit()</script>`, base, party)
		case "/logout":
			fmt.Fprintf(w, `<form id="f" method="post" action="%s/console/logout"></form><script>document.getElementById("f").submit()</script>`, base)
		case "/frame":
			fmt.Fprintf(w, `<h1>attacker</h1><iframe id="fr" src="%s/console/"></iframe>`, base)
		}
	}))
	defer attacker.Close()
	sameSite := attacker.URL // https://127.0.0.1:PORT: another origin, the same site
	crossSite := strings.Replace(attacker.URL, "127.0.0.1", "localhost", 1)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 800), chromedp.Flag("ignore-certificate-errors", true))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	bctx, cancelB := chromedp.NewContext(actx)
	defer cancelB()
	b := &consoleBrowser{t: t, ctx: bctx, base: base,
		ra: raSession{t: t, url: base, officer: filepath.Join(data, "officers", "admin")}}
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	b.signIn(filepath.Join(data, "officers", "admin"), "admin")

	// Markup in a name is text: no script runs, the title shows it.
	const name = `<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>`
	b.do("registering the party", chromedp.Navigate(base+"/console/parties"),
		chromedp.SetValue(chromedp.CSS("#id"), party), chromedp.SetValue(chromedp.CSS("#name"), name),
		chromedp.Submit(chromedp.CSS("#create-party")), chromedp.WaitVisible(chromedp.CSS("#create-user")))
	for _, p := range []string{"/console/parties", "/console/parties/" + party} {
		var pwned bool
		var title, cookie string
		b.do("opening "+p, chromedp.Navigate(base+p), chromedp.WaitVisible(chromedp.CSS("main h1")),
			into(&pwned, chromedp.Evaluate[bool](`window.pwned !== undefined`)), into(&title, chromedp.Title()),
			into(&cookie, chromedp.Evaluate[string](`document.cookie`)))
		if pwned {
			t.Errorf("%s: the name's markup ran", p)
		}
		if cookie != "" {
			t.Errorf("%s: the page's script reads the cookie %q", p, cookie)
		}
		if p != "/console/parties" && !strings.Contains(title, name) {
			t.Errorf("%s: title %q does not show the name as text", p, title)
		}
	}

	// Forms submitted by the attacker's pages.
	signedIn := func(what string) {
		t.Helper()
		var who string
		b.do(what+": the console afterwards", chromedp.Navigate(base+"/console/"), chromedp.WaitVisible(chromedp.CSS("#whoami")),
			into(&who, chromedp.Text(chromedp.CSS("#whoami"))))
		if !strings.HasPrefix(who, "admin (") {
			t.Fatalf("%s: signed in as %q afterwards", what, who)
		}
	}
	for _, from := range []struct{ name, url string }{{"same site", sameSite}, {"another site", crossSite}} {
		for _, page := range []string{"/party", "/revoke", "/logout"} {
			what := from.name + page
			var txt, loc string
			b.do(what, chromedp.Navigate(from.url+page), chromedp.WaitVisible(chromedp.CSS("main h1")),
				into(&txt, chromedp.Text(chromedp.CSS("main"))), into(&loc, chromedp.Location()))
			// The same site is refused outright; another site's request
			// carries no cookie (SameSite=Strict) and meets the sign-in page.
			t.Logf("%s: %s %.60q", what, loc, txt)
			if !strings.Contains(txt, "E_CONSOLE_CSRF") && !strings.HasPrefix(loc, base+"/console/login") {
				t.Errorf("%s: answered %s\n%s", what, loc, txt)
			}
			signedIn(what)
		}
	}
	var txt string
	b.do("the attacker's party", chromedp.Navigate(base+"/console/parties/90-B3-D5-1F-30-00-00-A8"), chromedp.WaitVisible(chromedp.CSS("main h1")),
		into(&txt, chromedp.Text(chromedp.CSS("main"))))
	if !strings.Contains(txt, "E_RA_NOT_FOUND") {
		t.Errorf("the attacker's pages registered their party:\n%s", txt)
	}

	// Framing: the console refuses to be shown in another origin's frame.
	var frameURL string
	b.do("framing", chromedp.Navigate(sameSite+"/frame"), chromedp.WaitVisible(chromedp.CSS("h1")),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			for range 50 {
				tree, err := chromedp.Call(ctx, page.GetFrameTree, cdp.Empty{})
				if err != nil {
					return err
				}
				if len(tree.FrameTree.ChildFrames) > 0 {
					f := tree.FrameTree.ChildFrames[0].Frame
					if frameURL = f.URL; f.UnreachableURL != "" {
						frameURL = "unreachable " + f.UnreachableURL
					}
					if frameURL != "" && frameURL != "about:blank" {
						return nil
					}
				}
				if err := chromedp.Do(ctx, chromedp.Sleep(100*time.Millisecond)); err != nil {
					return err
				}
			}
			return nil
		}))
	t.Logf("the framed console: %s", frameURL)
	if strings.HasPrefix(frameURL, base) {
		t.Errorf("another origin framed the console: %s", frameURL)
	}
}
