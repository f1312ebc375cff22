package demo

import (
	"context"
	"crypto/tls"
	"fmt"
	"github.com/smki/smki/testpki"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/verifier"
)

// reqCase is one Service Request of the stream: who signs what for which
// device, and the verifier's expected answer.
type reqCase struct {
	What   string
	Signer identity
	// Originator is the RequestID's originator; zero means the signer's
	// own User ID.
	Originator eui64.ID
	Target     eui64.ID
	Body       testpki.Body
	// Counter, if not zero, is used instead of the originator's next one.
	Counter uint64
	// Mutate, if set, changes the signed bytes before they are verified.
	Mutate func([]byte) ([]byte, error)
	// ReplayOf, if not zero, re-sends the exact bytes of that earlier case
	// of the same batch (1-based) instead of building a request.
	ReplayOf int
	raw      []byte
	// Want is the expected code; "" expects accept.
	Want string
}

// StreamCase is a reqCase as sent and answered (the --json stream).
type StreamCase struct {
	N        int      `json:"n"`
	What     string   `json:"what"`
	Signer   string   `json:"signer"`
	Request  string   `json:"request_id"`
	Want     string   `json:"want"`
	Got      string   `json:"got"`
	Route    string   `json:"route,omitempty"`
	Reason   string   `json:"reason"`
	Warnings []string `json:"warnings,omitempty"`
	OK       bool     `json:"ok"`
	signed   []byte
}

func (c StreamCase) line() string {
	mark := "✓"
	if !c.OK {
		mark = "✗"
	}
	want := c.Want
	if want == "" {
		want = "accept"
	}
	return fmt.Sprintf("%s %-44s expect %-9s got %-9s %s", mark, c.What, want, c.Got, c.explain())
}

func (c StreamCase) explain() string {
	if c.Route != "" {
		s := "route " + c.Route
		if len(c.Warnings) > 0 {
			s += " (warning: " + strings.Join(c.Warnings, "; ") + ")"
		}
		return s
	}
	return c.Reason
}

// credit names an SC-style Credit case for device.
func (d *night) credit(who string, device eui64.ID) string {
	owner := "supplier-a"
	if slices.Contains(d.devB, device) {
		owner = "supplier-b"
	}
	return fmt.Sprintf("%s 1.6 Credit, %s SMETS%d device", who, owner, d.smets[device])
}

// alertCode is the DCC Alert the demo routes (any code routes the same).
const alertCode = 0x8F0A

// send builds, signs and verifies one case and records it in the stream.
func (d *night) send(c reqCase) StreamCase {
	sc := StreamCase{N: len(d.stream) + 1, What: c.What, Signer: c.Signer.label, Want: c.Want}
	data, err := d.build(c)
	if err != nil {
		sc.Got, sc.Reason = "ERROR", err.Error()
		d.stream = append(d.stream, sc)
		return sc
	}
	dec := d.v.Verify(data, d.clock())
	sc.Got, sc.Reason, sc.Route, sc.Warnings, sc.signed = dec.Code, dec.Reason, dec.Route, dec.Warnings, data
	if dec.Accepted() {
		sc.Got = verifier.Accept
		sc.OK = c.Want == "" && dec.Route == c.Target.String()
	} else {
		sc.OK = c.Want != "" && dec.Code == c.Want
	}
	if dec.Request != nil {
		sc.Request = fmt.Sprintf("%s:%s:%d", dec.Request.ID.Originator, dec.Request.ID.Target, dec.Request.ID.Counter)
	}
	d.stream = append(d.stream, sc)
	return sc
}

// build returns the bytes a case sends.
func (d *night) build(c reqCase) ([]byte, error) {
	if c.raw != nil {
		return c.raw, nil
	}
	orig := c.Originator
	if orig.IsZero() {
		orig = c.Signer.id
	}
	ctr := c.Counter
	if ctr == 0 {
		d.counters[orig]++
		ctr = d.counters[orig]
	}
	signed, err := testpki.Request{Originator: orig, Target: c.Target, Counter: ctr, Body: c.Body}.Sign(c.Signer.key, c.Signer.cert)
	if err != nil {
		return nil, err
	}
	if c.Mutate != nil {
		return c.Mutate(signed)
	}
	return signed, nil
}

// stepStream sends the night's traffic: what the SC user may do, and each
// thing it (or an attacker with its key, or the failed Supplier) must not.
// Order matters: the replay comes before quarantine (AD1 is checked before
// REPLAY), and quarantine comes last.
func (d *night) stepStream(ctx context.Context, s *Step) error {
	cases := []reqCase{
		{What: d.credit("SC", d.devA[0]), Signer: d.sc, Target: d.devA[0], Body: testpki.Credit},
		{What: d.credit("SC", d.devA[1]), Signer: d.sc, Target: d.devA[1], Body: testpki.Credit},
		{What: d.credit("SC", d.devA[2]), Signer: d.sc, Target: d.devA[2], Body: testpki.Credit},
		{What: "SC 1.6 Prepayment (content, R5)", Signer: d.sc, Target: d.devA[3], Body: testpki.Prepayment, Want: verifier.CodeE2},
		{What: "SC 4.1.1 Read Registers (allow-list, R3)", Signer: d.sc, Target: d.devA[3], Body: testpki.ReadImportRegisters, Want: verifier.CodeE2},
		{What: "SC 1.6 Credit, supplier-b device (scope, R6)", Signer: d.sc, Target: d.devB[0], Body: testpki.Credit, Want: verifier.CodeE4},
		{What: "SC's first request sent again (replay)", Signer: d.sc, ReplayOf: 1, Want: verifier.CodeREPLAY},
		{What: "supplier-a's own revoked xml-signing key", Signer: d.supA, Target: d.devA[4], Body: testpki.Credit, Want: verifier.CodeREVOKED},
		{What: "supplier-b 1.6 Credit, own device (healthy)", Signer: d.supB, Target: d.devB[1], Body: testpki.Credit},
		{What: "SC request tampered after signing", Signer: d.sc, Target: d.devA[4], Body: testpki.Credit, Mutate: testpki.Tamper, Want: verifier.CodeSIG},
		{What: "SC key claiming supplier-b's User ID", Signer: d.sc, Originator: userB.ID, Target: d.devA[4], Body: testpki.Credit, Want: verifier.CodeE1},
		{What: "SC request with a DTD (entity expansion)", Signer: d.sc, Target: d.devA[4], Body: testpki.Credit, Mutate: testpki.WithDTD, Want: verifier.CodeMALFORMED},
	}
	for i := range adtQuarantine - 3 { // three Credits were accepted above
		cases = append(cases, reqCase{What: fmt.Sprintf("SC 1.6 Credit, supplier-a device (%d of %d/h)", 4+i, adtQuarantine),
			Signer: d.sc, Target: d.devA[5+i], Body: testpki.Credit})
	}
	cases = append(cases, reqCase{What: fmt.Sprintf("SC 1.6 Credit beyond %d/h (ADT quarantine)", adtQuarantine),
		Signer: d.sc, Target: d.devA[5+adtQuarantine-3], Body: testpki.Credit, Want: verifier.CodeAD1})

	start := len(d.stream)
	var bad []string
	for i, c := range cases {
		if err := ctx.Err(); err != nil {
			return err
		}
		if c.ReplayOf > 0 {
			if c.ReplayOf > i {
				return fmt.Errorf("case %d replays case %d, which is not sent yet", i+1, c.ReplayOf)
			}
			c.raw = d.stream[start+c.ReplayOf-1].signed
		}
		r := d.send(c)
		s.Lines = append(s.Lines, r.line())
		if !r.OK {
			bad = append(bad, fmt.Sprintf("#%d %s: want %s, got %s (%s)", r.N, r.What, orAccept(r.Want), r.Got, r.Reason))
		}
	}
	counts := map[string]int{}
	for _, r := range d.stream[start:] {
		counts[r.Got]++
	}
	codes := make([]string, 0, len(counts))
	for k := range counts {
		if k != verifier.Accept {
			codes = append(codes, k)
		}
	}
	slices.Sort(codes)
	rows := [][]string{{"sent", "accepted"}}
	rows[0] = append(rows[0], codes...)
	row := []string{fmt.Sprint(len(cases)), fmt.Sprint(counts[verifier.Accept])}
	for _, k := range codes {
		row = append(row, fmt.Sprint(counts[k]))
	}
	rows = append(rows, row)
	s.Lines = append(s.Lines, "summary:")
	for _, l := range table(rows) {
		s.Lines = append(s.Lines, "  "+l)
	}
	s.Detail = fmt.Sprintf("%d sent, %d accepted, %d refused", len(cases), counts[verifier.Accept], len(cases)-counts[verifier.Accept])
	if len(bad) > 0 {
		return fmt.Errorf("%d request(s) not answered as required: %s", len(bad), strings.Join(bad, "; "))
	}
	return nil
}

func orAccept(code string) string {
	if code == "" {
		return verifier.Accept
	}
	return code
}

func (d *night) stepAlerts(_ context.Context, s *Step) error {
	now := d.clock()
	for _, a := range []struct {
		device eui64.ID
		want   eui64.ID
		why    string
	}{
		{d.devA[0], userSC.ID, "failed supplier-a's device: to the SRP's SC user"},
		{d.devB[0], userB.ID, "healthy supplier-b's device: to supplier-b"},
	} {
		to, reason := d.v.RouteAlert(a.device, alertCode, now)
		if !slices.Equal(to, []eui64.ID{a.want}) {
			return fmt.Errorf("alert from %s went to %v (%s), want %s (%s)", a.device, to, reason, a.want, a.why)
		}
		s.Lines = append(s.Lines, fmt.Sprintf("%s -> %s (%s): %s", a.device, a.want, userName(a.want), reason))
	}
	s.Detail = fmt.Sprintf("alert 0x%04X from supplier-a's devices reaches %s although supplier-a is revoked", alertCode, userSC.Name)
	return nil
}

// httpClient is the follower's HTTP client: mTLS, and a header timeout
// longer than the RA's feed long-poll.
func httpClient(cfg *tls.Config) *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, ResponseHeaderTimeout: ra.DefaultFeedWait + 30*time.Second,
		TLSHandshakeTimeout: 10 * time.Second, ForceAttemptHTTP2: true}}
}
