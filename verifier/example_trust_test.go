package verifier_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"github.com/smki/smki/verifier"
)

// The examples use docs/examples/ of this repository: a trust directory
// (as `smki trust export` writes it) and signed DUIS requests, all built
// by smki testpki and kept current by TestDocsExamples.
const examples = "../docs/examples/"

// Build a verifier from a trust directory and its bundle. The sample
// directory was exported at a fixed time; a live one is evaluated at
// time.Now().
func ExampleLoadTrust() {
	trust, err := verifier.LoadTrust(examples + "trust")
	if err != nil {
		fmt.Println(err)
		return
	}
	at := trust.Manifest.ExportedAt // a live verifier: time.Now()
	opts, err := trust.Options(at)  // opens bundle.json against root.pem
	if err != nil {
		fmt.Println(err)
		return
	}
	opts.Clock = func() time.Time { return at }
	v, err := verifier.New(opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("roots %d, issuing CAs %d, CRLs %d, ready %v\n",
		len(trust.Roots), len(trust.Intermediates), len(trust.CRLs), len(v.NotReady()) == 0)
	// Output: roots 1, issuing CAs 1, CRLs 2, ready true
}

// Verify one signed request: an SRP's SoLR Contingency user sends SR 1.6
// (update prepayment settings) to a Credit-mode meter of the failed
// supplier in the SoLR event's scope, and an SR 1.6 that would switch a
// meter to Prepayment, which SC may not.
func ExampleVerifier_Verify() {
	v := exampleVerifier()
	for _, name := range []string{"sr1.6-accepted.xml", "sr1.6-refused.xml"} {
		signed, err := os.ReadFile(examples + name)
		if err != nil {
			fmt.Println(err)
			return
		}
		d := v.Verify(signed, exampleAt)
		if d.Accepted() {
			fmt.Printf("%s: %s, route to %s\n", name, d.Decision, d.Route)
		} else {
			fmt.Printf("%s: %s %s: %s\n", name, d.Decision, d.Code, d.Reason)
		}
	}
	// Output:
	// sr1.6-accepted.xml: accept, route to 00-DB-12-34-56-78-90-A0
	// sr1.6-refused.xml: reject E2: SR 1.6 from SC may only change the payment mode to Credit; send it again with PaymentMode Credit
}

// Follow the RA: a Follower fetches the signed bundle and long-polls the
// revocation feed, opening both against the trust root. Here a stand-in
// RA serves the sample bundle and refuses the feed (403: the credential is
// not a verifier officer's): the verifier keeps its data but is not ready
// (the sidecar's /readyz answers 503). A 4xx counts at once; an
// unreachable RA or a 5xx only once more than Follower.Tolerate came in a
// row.
func ExampleFollower() {
	v := exampleVerifier()
	trust, _ := verifier.LoadTrust(examples + "trust")
	ra := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/bundle" {
			w.Write(trust.Bundle)
			return
		}
		http.Error(w, `{"error":{"code":"E_RA_FORBIDDEN"}}`, http.StatusForbidden)
	}))
	defer ra.Close()
	f := &verifier.Follower{Verifier: v, BaseURL: ra.URL, Client: ra.Client(), Roots: trust.RootPool()}
	installed, err := f.SyncBundle(context.Background())
	fmt.Println("bundle:", installed, err) // the same bundle: nothing to install
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.Run(ctx); close(done) }()
	for len(v.NotReady()) == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	reason := v.NotReady()[0]
	fmt.Println(reason[:strings.Index(reason, ":")+1], strings.Contains(reason, "E_FEED_HTTP"))
	// Output:
	// bundle: false <nil>
	// revocation feed: true
}

var exampleAt time.Time

// exampleVerifier is ExampleLoadTrust's verifier, with mods applied to
// its Options.
func exampleVerifier(mods ...func(*verifier.Options)) *verifier.Verifier {
	trust, err := verifier.LoadTrust(examples + "trust")
	if err != nil {
		panic(err)
	}
	exampleAt = trust.Manifest.ExportedAt
	opts, err := trust.Options(exampleAt)
	if err != nil {
		panic(err)
	}
	opts.Clock = func() time.Time { return exampleAt }
	for _, mod := range mods {
		mod(&opts)
	}
	v, err := verifier.New(opts)
	if err != nil {
		panic(err)
	}
	return v
}
