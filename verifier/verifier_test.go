package verifier

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smki/smki/bundle"

	"github.com/smki/smki/internal/conformance"
	"github.com/smki/smki/internal/librarytext"
	"github.com/smki/smki/role"
	"github.com/smki/smki/verifier/xmldsig"
)

// TestVerifyReasonCodes drives every reason code through the full pipeline
// with DUIS templates rewritten and signed by the scenario's keys.
func TestVerifyReasonCodes(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	p := s.pki
	// Extra signers, all in the bundle's repository unless said otherwise.
	gone := identity{}
	gone.cert, gone.key = p.leaf(t, leafSpec{id: userGone, roles: []role.UserRole{role.ImportSupplier}})
	scAsIS := identity{}
	scAsIS.cert, scAsIS.key = p.leaf(t, leafSpec{id: userSC, roles: []role.UserRole{role.ImportSupplier}})
	unknown := identity{} // never in any repository
	unknown.cert, unknown.key = p.leaf(t, leafSpec{id: userSC, roles: []role.UserRole{role.SoLRContingency}})
	expired := identity{}
	expired.cert, expired.key = p.leaf(t, leafSpec{id: userSC, roles: []role.UserRole{role.SoLRContingency},
		notBefore: testNow.AddDate(-2, 0, 0), notAfter: testNow.Add(-time.Hour)})
	wrongOU := identity{}
	wrongOU.cert, wrongOU.key = p.leaf(t, leafSpec{id: userSC, ou: "02", roles: []role.UserRole{role.SoLRContingency}})
	noRole := identity{}
	noRole.cert, noRole.key = p.leaf(t, leafSpec{id: userSC})
	other := newTestPKI(t, testNow) // an untrusted PKI with the same issuer name
	untrusted := identity{}
	untrusted.cert, untrusted.key = other.leaf(t, leafSpec{id: userSC, roles: []role.UserRole{role.SoLRContingency}})
	chainOnly := identity{} // trusted chain, not in the repository, sent in KeyInfo
	chainOnly.cert, chainOnly.key = p.leaf(t, leafSpec{id: userSC, roles: []role.UserRole{role.SoLRContingency}})

	for _, id := range []identity{gone, scAsIS, expired, wrongOU, noRole, untrusted} {
		s.bundle.Certificates = append(s.bundle.Certificates, id.cert.Raw)
	}
	s.bundle.Users = append(s.bundle.Users, bundle.User{UserID: userGone, PartyID: partyB, Role: role.ImportSupplier, Status: bundle.StatusSuspended})

	credit := func(t testing.TB, id identity, ctr uint64) []byte {
		return sign(t, request(t, tmplCredit, userSC, devA1, ctr), id, false)
	}
	type tc struct {
		name   string
		build  func(t testing.TB) []byte
		bundle func(b *bundle.Bundle)
		opts   func(o *Options)
		prime  func(t testing.TB, v *Verifier) // requests accepted first
		at     time.Time
		want   string
	}
	tests := []tc{
		{name: "accept SC Credit to failed supplier SMETS1 device", want: "",
			build: func(t testing.TB) []byte { return credit(t, s.sc, 1) }},
		{name: "accept SC gas Credit", want: "",
			build: func(t testing.TB) []byte { return sign(t, request(t, tmplGasCredit, userSC, devA2, 1), s.sc, false) }},
		{name: "accept SC Credit with KeyInfo certificate", want: "",
			build: func(t testing.TB) []byte { return sign(t, request(t, tmplCredit, userSC, devA1, 1), s.sc, true) }},
		{name: "accept KeyInfo-only certificate that chains", want: "",
			build: func(t testing.TB) []byte { return sign(t, request(t, tmplCredit, userSC, devA1, 1), chainOnly, true) }},
		{name: "accept SC CV5 GBCS ECS02 to Credit", want: "",
			build: func(t testing.TB) []byte {
				return sign(t, signedPreCommand(t, request(t, tmplCredit, userSC, devA0, 1), gbcsToCreditCV), s.sc, false)
			}},
		{name: "accept IS tariff to own device", want: "",
			build: func(t testing.TB) []byte { return sign(t, request(t, tmplTariff, userB, devB, 1), s.b, false) }},

		{name: "E1 unknown user", want: CodeE1,
			build:  func(t testing.TB) []byte { return sign(t, request(t, tmplTariff, userGone, devB, 1), gone, false) },
			bundle: func(b *bundle.Bundle) { b.Users = b.Users[:3] }},
		{name: "E1 user not active", want: CodeE1,
			build: func(t testing.TB) []byte { return sign(t, request(t, tmplTariff, userGone, devB, 1), gone, false) }},
		{name: "E1 role mismatch", want: CodeE1,
			build: func(t testing.TB) []byte { return sign(t, request(t, tmplCredit, userSC, devA1, 1), scAsIS, false) }},
		{name: "E1 originator is not the signer", want: CodeE1,
			build: func(t testing.TB) []byte { return sign(t, request(t, tmplCredit, userA, devA1, 1), s.sc, false) }},

		{name: "E2 SC sends 1.1.1", want: CodeE2,
			build: func(t testing.TB) []byte { return sign(t, request(t, tmplTariff, userSC, devA1, 1), s.sc, false) }},
		{name: "E2 SC Prepayment ECS03", want: CodeE2,
			build: func(t testing.TB) []byte { return sign(t, request(t, tmplPrepay, userSC, devA1, 1), s.sc, false) }},
		{name: "E2 SC Prepayment GCS03", want: CodeE2,
			build: func(t testing.TB) []byte { return sign(t, request(t, tmplGasPrepay, userSC, devA2, 1), s.sc, false) }},
		{name: "E2 SC CV5 GBCS ECS03 to Prepayment", want: CodeE2,
			build: func(t testing.TB) []byte {
				return sign(t, signedPreCommand(t, request(t, tmplCredit, userSC, devA0, 1), gbcsToPrepay), s.sc, false)
			}},
		{name: "E2 SC Credit sent as a non-critical Command Variant", want: CodeE2,
			build: func(t testing.TB) []byte {
				req := bytes.Replace(request(t, tmplCredit, userSC, devA1, 1),
					[]byte("<sr:CommandVariant>4</sr:CommandVariant>"), []byte("<sr:CommandVariant>1</sr:CommandVariant>"), 1)
				if !bytes.Contains(req, []byte("<sr:CommandVariant>1<")) {
					t.Fatal("template has no CommandVariant 4 to rewrite")
				}
				return sign(t, req, s.sc, false)
			}},
		{name: "E2 SC CV5 to-Credit GBCS addressed to another device", want: CodeE2,
			build: func(t testing.TB) []byte {
				return sign(t, signedPreCommand(t, request(t, tmplCredit, userSC, devA2, 1), gbcsToCreditCV), s.sc, false)
			}},
		{name: "E2 SC CV5 to-Credit GBCS not from the device's Supplier", want: CodeE2,
			build: func(t testing.TB) []byte {
				return sign(t, signedPreCommand(t, request(t, tmplCredit, userSC, devA0, 1), gbcsToCreditCV), s.sc, false)
			},
			bundle: func(b *bundle.Bundle) {
				for i := range b.Devices {
					if b.Devices[i].Device == devA0 {
						b.Devices[i].SupplierUser = userB
					}
				}
			}},
		{name: "accept SC CV5 future-dated to-Credit GBCS executing inside the event", want: "",
			build: func(t testing.TB) []byte {
				return sign(t, signedPreCommand(t, request(t, tmplCredit, userSC, devA0, 1), gbcsToCreditFuture), s.sc, false)
			},
			bundle: func(b *bundle.Bundle) {
				end := time.Date(2030, 1, 15, 9, 0, 1, 0, time.UTC)
				b.SoLREvents[0].End = &end
			}},
		{name: "E4 SC CV5 future-dated to-Credit GBCS executing after the event ends", want: CodeE4,
			build: func(t testing.TB) []byte {
				return sign(t, signedPreCommand(t, request(t, tmplCredit, userSC, devA0, 1), gbcsToCreditFuture), s.sc, false)
			},
			bundle: func(b *bundle.Bundle) {
				end := time.Date(2030, 1, 15, 9, 0, 0, 0, time.UTC) // the command runs at the end: too late
				b.SoLREvents[0].End = &end
			}},
		{name: "E2 SC CV5 GBCS cancellation of a pending change", want: CodeE2,
			build: func(t testing.TB) []byte {
				return sign(t, signedPreCommand(t, request(t, tmplCredit, userSC, devA0, 1), gbcsCreditCancel), s.sc, false)
			}},
		{name: "accept SC without a bundle allow-list: policy default", want: "",
			build:  func(t testing.TB) []byte { return credit(t, s.sc, 1) },
			bundle: func(b *bundle.Bundle) { b.AllowLists = nil }},
		{name: "E2 bundle allow-list for SC without 1.6", want: CodeE2,
			build:  func(t testing.TB) []byte { return credit(t, s.sc, 1) },
			bundle: func(b *bundle.Bundle) { b.AllowLists = map[role.UserRole][]string{role.SoLRContingency: {"1.5"}} }},

		{name: "E4 no event", want: CodeE4,
			build: func(t testing.TB) []byte { return credit(t, s.sc, 1) }, bundle: func(b *bundle.Bundle) { b.SoLREvents = nil }},
		{name: "E4 device of a healthy supplier", want: CodeE4,
			build: func(t testing.TB) []byte { return sign(t, request(t, tmplCredit, userSC, devB, 1), s.sc, false) }},
		{name: "E4 unregistered device", want: CodeE4,
			build: func(t testing.TB) []byte { return sign(t, request(t, tmplCredit, userSC, devNone, 1), s.sc, false) }},
		{name: "E4 after the event's end", want: CodeE4,
			build: func(t testing.TB) []byte { return credit(t, s.sc, 1) },
			bundle: func(b *bundle.Bundle) {
				end := testNow.Add(-time.Minute)
				b.SoLREvents[0].End = &end
			}},
		{name: "E4 before the event's start", want: CodeE4, at: testNow.Add(-2 * time.Hour),
			build: func(t testing.TB) []byte { return credit(t, s.sc, 1) }},
		{name: "E4 event declared, not approved", want: CodeE4,
			build: func(t testing.TB) []byte { return credit(t, s.sc, 1) }, bundle: func(b *bundle.Bundle) { b.SoLREvents[0].State = bundle.EventDeclared }},
		{name: "E4 event closed", want: CodeE4,
			build: func(t testing.TB) []byte { return credit(t, s.sc, 1) }, bundle: func(b *bundle.Bundle) { b.SoLREvents[0].State = bundle.EventClosed }},
		{name: "E4 no ADT for the supplier", want: CodeE4,
			build: func(t testing.TB) []byte { return credit(t, s.sc, 1) }, bundle: func(b *bundle.Bundle) { b.ADT = nil }},

		{name: "AD1 quarantine threshold reached", want: CodeAD1,
			build: func(t testing.TB) []byte { return credit(t, s.sc, 100) },
			prime: func(t testing.TB, v *Verifier) {
				for i := uint64(1); i <= 5; i++ {
					if d := v.Verify(credit(t, s.sc, i), testNow.Add(time.Duration(i)*time.Second)); !d.Accepted() {
						t.Fatalf("prime %d: %+v", i, d)
					}
				}
			}},

		{name: "SIG tampered after signing", want: CodeSIG,
			build: func(t testing.TB) []byte {
				return bytes.Replace(credit(t, s.sc, 1), []byte("<sr:Credit/>"), []byte("<sr:Credit></sr:Credit> "), 1)
			}},
		{name: "SIG missing", want: CodeSIG,
			build: func(t testing.TB) []byte {
				return regexp.MustCompile(`(?s)<ds:Signature.*</ds:Signature>`).ReplaceAll(request(t, tmplCredit, userSC, devA1, 1), nil)
			}},
		{name: "SIG signed by another key than the certificate's", want: CodeSIG,
			build: func(t testing.TB) []byte {
				// A valid signature by unknown's key, KeyInfo naming s.sc's certificate.
				signed := credit(t, unknown, 1)
				return swapIssuerSerial(t, signed, unknown.cert, s.sc.cert)
			}},

		{name: "CERT unknown serial", want: CodeCERT,
			build: func(t testing.TB) []byte { return credit(t, unknown, 1) }},
		{name: "CERT expired", want: CodeCERT,
			build: func(t testing.TB) []byte { return credit(t, expired, 1) }},
		{name: "CERT not yet valid at the request time", want: CodeCERT, at: testNow.AddDate(-3, 0, 0),
			build: func(t testing.TB) []byte { return credit(t, s.sc, 1) }},
		{name: "CERT wrong OU", want: CodeCERT,
			build: func(t testing.TB) []byte { return credit(t, wrongOU, 1) }},
		{name: "CERT no role binding", want: CodeCERT,
			build: func(t testing.TB) []byte { return credit(t, noRole, 1) }},
		{name: "CERT untrusted root", want: CodeCERT,
			build: func(t testing.TB) []byte { return credit(t, untrusted, 1) }},
		{name: "CERT untrusted certificate in KeyInfo", want: CodeCERT,
			build: func(t testing.TB) []byte {
				u := identity{}
				u.cert, u.key = other.leaf(t, leafSpec{id: userSC, roles: []role.UserRole{role.SoLRContingency}})
				return sign(t, request(t, tmplCredit, userSC, devA1, 1), u, true)
			}},

		{name: "REVOKED by the bundle", want: CodeREVOKED,
			build: func(t testing.TB) []byte { return credit(t, s.sc, 1) },
			bundle: func(b *bundle.Bundle) {
				b.Revoked = []bundle.RevokedCert{{Issuer: "CN=Z1, OU=07", Serial: s.sc.cert.SerialNumber.Text(16), RevokedAt: testNow.Add(-time.Minute), Reason: 5}}
			}},
		{name: "not yet REVOKED before the revocation time", want: "", at: testNow.Add(-2 * time.Minute),
			build: func(t testing.TB) []byte { return credit(t, s.sc, 1) },
			bundle: func(b *bundle.Bundle) {
				b.Revoked = []bundle.RevokedCert{{Issuer: "OU=07,CN=Z1", Serial: s.sc.cert.SerialNumber.Text(16), RevokedAt: testNow.Add(-time.Minute)}}
			}},
		{name: "REVOKED by the ORL", want: CodeREVOKED,
			build: func(t testing.TB) []byte { return credit(t, s.sc, 1) },
			opts: func(o *Options) {
				o.CRLs = [][]byte{p.crl(t, testNow.Add(-time.Hour), testNow.Add(time.Hour), s.sc.cert)}
			}},
		{name: "REVOKED issuing CA by the bundle", want: CodeREVOKED,
			build: func(t testing.TB) []byte { return credit(t, s.sc, 1) },
			bundle: func(b *bundle.Bundle) {
				b.Revoked = []bundle.RevokedCert{{Issuer: "CN=Test Root OCA,OU=00", Serial: p.ca.SerialNumber.Text(16), RevokedAt: testNow.Add(-time.Hour)}}
			}},

		{name: "REPLAY same counter", want: CodeREPLAY,
			build: func(t testing.TB) []byte { return credit(t, s.sc, 10) },
			prime: func(t testing.TB, v *Verifier) { mustAccept(t, v, credit(t, s.sc, 10)) }},
		{name: "REPLAY lower counter", want: CodeREPLAY,
			build: func(t testing.TB) []byte { return credit(t, s.sc, 9) },
			prime: func(t testing.TB, v *Verifier) { mustAccept(t, v, credit(t, s.sc, 10)) }},
		{name: "higher counter after an accept", want: "",
			build: func(t testing.TB) []byte { return credit(t, s.sc, 11) },
			prime: func(t testing.TB, v *Verifier) { mustAccept(t, v, credit(t, s.sc, 10)) }},

		{name: "STALE bundle", want: CodeSTALE,
			build: func(t testing.TB) []byte { return credit(t, s.sc, 1) }, bundle: func(b *bundle.Bundle) { b.IssuedAt = testNow.Add(-25 * time.Hour) }},
		{name: "STALE by the verifier's MaxAge", want: CodeSTALE,
			build: func(t testing.TB) []byte { return credit(t, s.sc, 1) }, opts: func(o *Options) { o.MaxAge = 5 * time.Minute }},
		{name: "STALE CRL past nextUpdate", want: CodeSTALE,
			build: func(t testing.TB) []byte { return credit(t, s.sc, 1) },
			opts: func(o *Options) {
				o.CRLs = [][]byte{p.crl(t, testNow.Add(-2*time.Hour), testNow.Add(-time.Hour))}
			}},
		{name: "STALE bundle from the future", want: CodeSTALE,
			build: func(t testing.TB) []byte { return credit(t, s.sc, 1) }, bundle: func(b *bundle.Bundle) { b.IssuedAt = testNow.Add(time.Hour) }},

		{name: "MALFORMED not XML", want: CodeMALFORMED,
			build: func(t testing.TB) []byte { return []byte("{\"not\": \"xml\"}") }},
		{name: "MALFORMED external entity", want: CodeMALFORMED,
			build: func(t testing.TB) []byte {
				b, err := os.ReadFile(conformance.Path(t, "duis", "requests", "duis-xxe.xml"))
				if err != nil {
					t.Fatal(err)
				}
				return b
			}},
		{name: "MALFORMED over the size limit", want: CodeMALFORMED,
			build: func(t testing.TB) []byte { return credit(t, s.sc, 1) },
			opts:  func(o *Options) { o.Limits = xmldsig.Limits{MaxBytes: 512} }},
		// Rows for reasons that carried text of a library or another
		// code (checkReason): a KeyInfo issuer that is no DN, a signer
		// the certificate source cannot give, a SignatureValue that is
		// not base64, a signed RequestID that is no RequestID.
		{name: "CERT KeyInfo issuer name not a DN", want: CodeCERT,
			build: func(t testing.TB) []byte {
				return regexp.MustCompile(`<ds:X509IssuerName>[^<]*<`).ReplaceAll(credit(t, s.sc, 1), []byte("<ds:X509IssuerName>not a name<"))
			}},
		{name: "CERT source unreachable", want: CodeCERT,
			build:  func(t testing.TB) []byte { return credit(t, s.sc, 1) },
			bundle: func(b *bundle.Bundle) { b.Certificates = nil },
			opts: func(o *Options) {
				src := newFakeSource()
				src.setDown(true)
				o.Source = src
			}},
		{name: "CERT source has no such certificate", want: CodeCERT,
			build:  func(t testing.TB) []byte { return credit(t, s.sc, 1) },
			bundle: func(b *bundle.Bundle) { b.Certificates = nil },
			opts:   func(o *Options) { o.Source = newFakeSource() }},
		{name: "CERT compact bundle without a source", want: CodeCERT,
			build:  func(t testing.TB) []byte { return credit(t, s.sc, 1) },
			bundle: func(b *bundle.Bundle) { b.Certificates = nil }},
		{name: "SIG SignatureValue not base64", want: CodeSIG,
			build: func(t testing.TB) []byte {
				return regexp.MustCompile(`<ds:SignatureValue>[^<]*<`).ReplaceAll(credit(t, s.sc, 1), []byte("<ds:SignatureValue>@@@@<"))
			}},
		{name: "MALFORMED signed RequestID", want: CodeMALFORMED,
			build: func(t testing.TB) []byte {
				req := regexp.MustCompile(`<sr:RequestID>[^<]*<`).ReplaceAll(request(t, tmplCredit, userSC, devA1, 1), []byte("<sr:RequestID>x<"))
				return sign(t, req, s.sc, false)
			}},
		{name: "PARTY suspended", want: CodePARTY,
			build:  func(t testing.TB) []byte { return credit(t, s.sc, 1) },
			bundle: func(b *bundle.Bundle) { b.Parties[2].Status = bundle.StatusSuspended }},
		{name: "REVOKED with the signer's party", want: CodeREVOKED,
			build: func(t testing.TB) []byte { return credit(t, s.sc, 1) },
			bundle: func(b *bundle.Bundle) {
				b.RevokedParties = []bundle.PartyRevocation{{Party: partySRP, IssuedBefore: testNow, RevokedAt: testNow, Reason: 5}}
			}},
		{name: "E4 ADT file without thresholds for the SRV", want: CodeE4,
			build: func(t testing.TB) []byte { return credit(t, s.sc, 1) },
			bundle: func(b *bundle.Bundle) {
				b.ADT[0].SRVs = map[string]bundle.ADTThreshold{"1.5": {Period: bundle.Duration(time.Hour), Warning: 3, Quarantine: 5}}
			}},
		{name: "AD1 quarantined", want: CodeAD1,
			build: func(t testing.TB) []byte { return credit(t, s.sc, 101) },
			prime: func(t testing.TB, v *Verifier) {
				for i := uint64(1); i <= 5; i++ {
					mustAccept(t, v, credit(t, s.sc, i))
				}
				if d := v.Verify(credit(t, s.sc, 100), testNow.Add(time.Minute)); d.Code != CodeAD1 {
					t.Fatalf("the sixth: %+v, want AD1", d)
				}
			}},
		{name: "E4 registered to another user", want: CodeE4,
			build: func(t testing.TB) []byte {
				return sign(t, asSRV(t, request(t, tmplRead, userB, devA2, 1), "4.1.1"), s.b, false)
			}},
		{name: "MALFORMED comment in the signed request", want: CodeMALFORMED,
			build: func(t testing.TB) []byte {
				return bytes.Replace(credit(t, s.sc, 1), []byte("<sr:Credit/>"), []byte("<sr:Credit/><!-- x -->"), 1)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := s.bundleWith(t, tt.bundle)
			o := s.options(b)
			if tt.opts != nil {
				tt.opts(&o)
			}
			v, err := New(o)
			if err != nil {
				t.Fatal(err)
			}
			if tt.prime != nil {
				tt.prime(t, v)
			}
			at := tt.at
			if at.IsZero() {
				at = testNow.Add(time.Minute)
			}
			msg := tt.build(t)
			d := v.Verify(msg, at)
			t.Logf("%s %s: %s", d.Decision, d.Code, d.Reason)
			if d.Code != tt.want {
				t.Fatalf("Verify = %s %q (%s), want code %q", d.Decision, d.Code, d.Reason, tt.want)
			}
			if !d.Accepted() {
				checkReason(t, d)
			}
			if tt.want == "" {
				if !d.Accepted() || d.Route == "" || d.Request == nil {
					t.Fatalf("accept without route/request: %+v", d)
				}
			} else if d.Accepted() || d.Route != "" {
				t.Fatalf("reject with accept/route: %+v", d)
			}
			// The JSON form always has the four contract keys.
			var m map[string]any
			j, _ := json.Marshal(d)
			if err := json.Unmarshal(j, &m); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"decision", "code", "reason", "route"} {
				if _, ok := m[k]; !ok {
					t.Fatalf("JSON %s lacks %q", j, k)
				}
			}
		})
	}
}

// reasonCode is a code at the start of a reason or after ": " (MALFORMED:
// "MALFORMED: ...", or another package's E_ code), the decision's code
// said again or one the caller cannot act on.
var reasonCode = regexp.MustCompile(`(^|: )(E_[A-Z0-9_]+|MALFORMED|SIG|CERT|REVOKED|REPLAY|STALE|STATE|PARTY|AD1|E[124]):`)

// checkReason holds a rejection's reason to the contract
// (docs/verifier.md, "Decision"): the code is Decision.Code alone, never
// repeated in the sentence nor joined by another; no library's text
// (crypto/x509, asn1, base64, net, ...; librarytext); and it ends with
// what to do next, after "; ".
func checkReason(t testing.TB, d Decision) {
	t.Helper()
	r := d.Reason
	if m := librarytext.Find(r); m != "" {
		t.Errorf("%s reason holds library text %q: %s", d.Code, m, r)
	}
	if m := reasonCode.FindString(r); m != "" {
		t.Errorf("%s reason repeats a code (%q): %s", d.Code, m, r)
	}
	i := strings.LastIndex(r, "; ")
	if i < 0 || len(strings.Fields(r[i+2:])) < 3 {
		t.Errorf("%s reason says nothing to do next (no \"; \" and a step after it): %s", d.Code, r)
	}
}

func mustAccept(t testing.TB, v *Verifier, msg []byte) Decision {
	t.Helper()
	d := v.Verify(msg, testNow.Add(time.Minute))
	if !d.Accepted() {
		t.Fatalf("want accept, got %+v", d)
	}
	return d
}

// cloneBundle deep-copies a bundle through its JSON form.
func cloneBundle(t testing.TB, b *bundle.Bundle) *bundle.Bundle {
	t.Helper()
	j, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	var c bundle.Bundle
	if err := json.Unmarshal(j, &c); err != nil {
		t.Fatal(err)
	}
	return &c
}

// swapIssuerSerial rewrites the KeyInfo serial of a signed message from one
// certificate to another (KeyInfo is outside SignedInfo, so the signature
// still parses).
func swapIssuerSerial(t testing.TB, msg []byte, from, to *x509.Certificate) []byte {
	t.Helper()
	a := []byte(">" + from.SerialNumber.String() + "<")
	if !bytes.Contains(msg, a) {
		t.Fatal("serial not found in KeyInfo")
	}
	return bytes.Replace(msg, a, []byte(">"+to.SerialNumber.String()+"<"), 1)
}

// TestFeedPageFromTheFutureIsStale: a feed page dated more than clockSkew
// after now (the RA's clock misset, or a replayed or forged page that
// still verifies) is refused and changes nothing, so the RA's next honest
// page still applies; and revocation data dated more than clockSkew after
// the verifier's now (its clock stepped back after a page was applied)
// answers STALE, as a bundle from the future does: it cannot prove the
// data current.
func TestFeedPageFromTheFutureIsStale(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	credit := func(t testing.TB, ctr uint64) []byte {
		return sign(t, request(t, tmplCredit, userSC, devA1, ctr), s.sc, false)
	}
	t.Run("page", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name    string
			issued  time.Time
			refused bool
		}{
			{"issued now", testNow, false},
			{"issued clockSkew ahead", testNow.Add(clockSkew), false},
			{"issued 1ns beyond clockSkew", testNow.Add(clockSkew + time.Nanosecond), true},
			{"issued a day ahead", testNow.Add(24 * time.Hour), true},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				v := s.verifier(t, nil)
				seq, gen := v.RevocationSeq(), v.Generation()
				err := v.AddRevocations(&bundle.FeedPage{Seq: seq + 1, IssuedAt: tt.issued})
				if !tt.refused {
					if err != nil {
						t.Fatalf("AddRevocations = %v, want nil", err)
					}
					mustAccept(t, v, credit(t, 1))
					return
				}
				if !errors.Is(err, bundle.ErrFeedInvalid) {
					t.Fatalf("AddRevocations = %v, want ErrFeedInvalid", err)
				}
				if v.RevocationSeq() != seq || v.Generation() != gen {
					t.Fatalf("a refused page changed the data: seq %d -> %d, generation %d -> %d", seq, v.RevocationSeq(), gen, v.Generation())
				}
				if err := v.AddRevocations(&bundle.FeedPage{Seq: seq + 1, IssuedAt: testNow}); err != nil {
					t.Fatalf("the RA's honest page after a refused one: %v", err)
				}
				mustAccept(t, v, credit(t, 1))
			})
		}
	})
	t.Run("clock stepped back", func(t *testing.T) {
		t.Parallel()
		issued := testNow.Add(time.Hour)
		tests := []struct {
			name  string
			back  time.Duration // how far the clock steps back after the page is applied
			stale bool
		}{
			{"by clockSkew", clockSkew, false},
			{"by clockSkew and 1ns", clockSkew + time.Nanosecond, true},
			{"by an hour", time.Hour, true},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				var now atomic.Pointer[time.Time]
				now.Store(&issued)
				v := s.verifier(t, func(o *Options) { o.Clock = func() time.Time { return *now.Load() } })
				if err := v.AddRevocations(&bundle.FeedPage{Seq: v.RevocationSeq() + 1, IssuedAt: issued}); err != nil {
					t.Fatal(err)
				}
				stepped := issued.Add(-tt.back)
				now.Store(&stepped)
				d := v.Verify(credit(t, 1), stepped)
				if !tt.stale {
					if !d.Accepted() {
						t.Fatalf("Verify = %+v, want accept", d)
					}
					return
				}
				if d.Code != CodeSTALE {
					t.Fatalf("Verify = %s %q (%s), want STALE", d.Decision, d.Code, d.Reason)
				}
				if len(v.NotReady()) == 0 {
					t.Fatal("NotReady is empty with revocation data from the future")
				}
			})
		}
	})
}

// TestReasonsBesideTheChecks holds the reasons given outside the checks
// of TestVerifyReasonCodes to the same contract (checkReason): STATE (the
// state file's disk gone: its error is the log's, not the sender's), an
// unbuilt Verifier, a sidecar body over its limit, a sidecar not ready.
func TestReasonsBesideTheChecks(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	credit := func(t testing.TB, ctr uint64) []byte {
		return sign(t, request(t, tmplCredit, userSC, devA1, ctr), s.sc, false)
	}
	decode := func(t *testing.T, body []byte) Decision {
		var d Decision
		if err := json.Unmarshal(body, &d); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		return d
	}
	tests := []struct {
		name string
		want string
		run  func(t *testing.T) Decision
	}{
		{"STATE", CodeSTATE, func(t *testing.T) Decision {
			st := openState(t, filepath.Join(t.TempDir(), "state.log"), StateFileOptions{MaxDelay: -1})
			v := s.verifier(t, func(o *Options) { o.Replay = st })
			mustAccept(t, v, credit(t, 1))
			if st.df != nil {
				st.df.Close()
			}
			st.f.Close()
			defer st.Close()
			return v.Verify(credit(t, 2), testNow.Add(time.Minute))
		}},
		{"unbuilt Verifier", CodeSTALE, func(t *testing.T) Decision {
			var v *Verifier
			return v.Verify(credit(t, 1), testNow)
		}},
		{"sidecar body over its limit", CodeMALFORMED, func(t *testing.T) Decision {
			rec := httptest.NewRecorder()
			Handler(s.verifier(t, nil), 64).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/verify", bytes.NewReader(credit(t, 1))))
			return decode(t, rec.Body.Bytes())
		}},
		{"sidecar not ready", CodeSTALE, func(t *testing.T) Decision {
			rec := httptest.NewRecorder()
			UnreadyHandler(prometheus.NewRegistry(), []string{"bundle: does not verify", "state: locked"}).
				ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/verify", bytes.NewReader(credit(t, 1))))
			return decode(t, rec.Body.Bytes())
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.run(t)
			t.Logf("%s %s: %s", d.Decision, d.Code, d.Reason)
			if d.Code != tt.want {
				t.Fatalf("%+v, want %s", d, tt.want)
			}
			checkReason(t, d)
		})
	}
}
