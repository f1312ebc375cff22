package verifier

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smki/smki/bundle"

	"github.com/smki/smki/role"
)

// Red-team review of the verifier (h13): each case is an attack on the
// full pipeline and the code it must end in. Messages are built from the
// DUIS templates, edited, then signed by a key the verifier trusts: the
// attacker here is a legitimate (or stolen) SC key trying to do more than
// SR 1.6 to Credit for the failed Supplier's devices.

// edit applies literal replacements to a message before signing; each old
// string must be present so that a template change cannot make a case
// vacuous.
func edit(t testing.TB, msg []byte, pairs ...string) []byte {
	t.Helper()
	for i := 0; i+1 < len(pairs); i += 2 {
		if !bytes.Contains(msg, []byte(pairs[i])) {
			t.Fatalf("edit target %q not found", pairs[i])
		}
		msg = bytes.Replace(msg, []byte(pairs[i]), []byte(pairs[i+1]), 1)
	}
	return msg
}

const (
	hdrCV4   = "<sr:CommandVariant>4</sr:CommandVariant>"
	hdrSR    = "<sr:ServiceReference>1.6</sr:ServiceReference>"
	hdrSRV   = "<sr:ServiceReferenceVariant>1.6</sr:ServiceReferenceVariant>"
	bodyCred = "<sr:Credit/>"
	prepay   = "<sr:Prepayment><sr:SuspendDebtDisabled>false</sr:SuspendDebtDisabled><sr:SuspendDebtEmergency>false</sr:SuspendDebtEmergency><sr:DisablementThreshold>0</sr:DisablementThreshold></sr:Prepayment>"
)

// leafWithSubject issues an xmlSign certificate with an arbitrary subject.
func (p *testPKI) leafWithSubject(t testing.TB, subj pkix.Name, roles ...role.UserRole) identity {
	t.Helper()
	key := mustKey(t)
	ext, err := role.Extension(roles...)
	if err != nil {
		t.Fatal(err)
	}
	c := mustCreate(t, &x509.Certificate{
		SerialNumber: serial(t), Subject: subj,
		NotBefore: p.now.AddDate(-1, 0, 0), NotAfter: p.now.AddDate(1, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature, SubjectKeyId: skid(&key.PublicKey),
		ExtraExtensions: []pkix.Extension{ext},
	}, p.ca, &key.PublicKey, p.caKey)
	return identity{cert: c, key: key}
}

func TestRedTeamPipeline(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	p := s.pki
	credit := func(t testing.TB, ctr uint64) []byte { return request(t, tmplCredit, userSC, devA1, ctr) }
	signSC := func(t testing.TB, msg []byte) []byte { return sign(t, msg, s.sc, false) }

	// Trust-side identities.
	multiRole := identity{}
	multiRole.cert, multiRole.key = p.leaf(t, leafSpec{id: userSC, roles: []role.UserRole{role.SoLRContingency, role.ImportSupplier}})
	textUID := p.leafWithSubject(t, pkix.Name{ExtraNames: []pkix.AttributeTypeAndValue{
		{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: userSC.Hex()},
		{Type: asn1.ObjectIdentifier{2, 5, 4, 11}, Value: "87"},
		{Type: asn1.ObjectIdentifier{2, 5, 4, 45}, Value: userSC.String()}, // UTF8String, not BIT STRING
	}}, role.SoLRContingency)
	twoUID := p.leafWithSubject(t, pkix.Name{ExtraNames: []pkix.AttributeTypeAndValue{
		{Type: asn1.ObjectIdentifier{2, 5, 4, 11}, Value: "87"},
		{Type: asn1.ObjectIdentifier{2, 5, 4, 45}, Value: asn1.BitString{Bytes: userA[:], BitLength: 64}},
		{Type: asn1.ObjectIdentifier{2, 5, 4, 45}, Value: asn1.BitString{Bytes: userSC[:], BitLength: 64}},
	}}, role.SoLRContingency)

	// An issuing CA the root signed but the verifier was never configured
	// with (not in Intermediates, not in the bundle), and a leaf under it.
	rogueCAKey := mustKey(t)
	rogueCA := mustCreate(t, &x509.Certificate{
		SerialNumber: serial(t), Subject: pkix.Name{CommonName: "Z9", OrganizationalUnit: []string{"07"}},
		NotBefore: testNow.AddDate(-1, 0, 0), NotAfter: testNow.AddDate(5, 0, 0),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true,
		MaxPathLenZero: true, SubjectKeyId: skid(&rogueCAKey.PublicKey),
	}, p.root, &rogueCAKey.PublicKey, p.rootKey)
	underRogue := identity{}
	underRogue.cert, underRogue.key = p.leaf(t, leafSpec{id: userSC, roles: []role.UserRole{role.SoLRContingency},
		issuer: rogueCA, issuerKey: rogueCAKey})

	// An issuing CA that expired before the request time, configured.
	oldCAKey := mustKey(t)
	oldCA := mustCreate(t, &x509.Certificate{
		SerialNumber: serial(t), Subject: pkix.Name{CommonName: "Z0", OrganizationalUnit: []string{"07"}},
		NotBefore: testNow.AddDate(-4, 0, 0), NotAfter: testNow.Add(-time.Hour),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true,
		MaxPathLenZero: true, SubjectKeyId: skid(&oldCAKey.PublicKey),
	}, p.root, &oldCAKey.PublicKey, p.rootKey)
	underOld := identity{}
	underOld.cert, underOld.key = p.leaf(t, leafSpec{id: userSC, roles: []role.UserRole{role.SoLRContingency},
		issuer: oldCA, issuerKey: oldCAKey, notBefore: testNow.AddDate(-2, 0, 0), notAfter: testNow.AddDate(1, 0, 0)})

	for _, id := range []identity{multiRole, textUID, twoUID, underOld} {
		s.bundle.Certificates = append(s.bundle.Certificates, id.cert.Raw)
	}

	// withKeyInfoCerts appends extra X509Certificate elements to a signed
	// message's KeyInfo (outside SignedInfo, so the signature still holds).
	withKeyInfoCerts := func(t testing.TB, msg []byte, certs ...*x509.Certificate) []byte {
		var extra strings.Builder
		for _, c := range certs {
			extra.WriteString("<ds:X509Certificate>" + base64.StdEncoding.EncodeToString(c.Raw) + "</ds:X509Certificate>")
		}
		return edit(t, msg, "</ds:X509Data>", extra.String()+"</ds:X509Data>")
	}

	end := testNow.Add(2 * time.Hour)
	withEnd := func(b *bundle.Bundle) { b.SoLREvents[0].End = &end }
	exec := func(when string) string {
		return "<sr:UpdatePaymentMode><sr:ExecutionDateTime>" + when + "</sr:ExecutionDateTime>"
	}
	lower := strings.ToLower(userSC.String()) + ":" + strings.ToLower(devA1.String())

	tests := []struct {
		attack string
		build  func(t testing.TB) []byte
		bundle func(b *bundle.Bundle)
		opts   func(o *Options)
		at     time.Time
		want   string
	}{
		{attack: "control: SC Credit", want: "", build: func(t testing.TB) []byte { return signSC(t, credit(t, 1)) }},

		// DUIS shape: duplicates and mismatches the digest covers.
		{attack: "duplicate RequestID (second one other device)", want: CodeMALFORMED, build: func(t testing.TB) []byte {
			return signSC(t, edit(t, credit(t, 1), "<sr:CommandVariant>",
				fmt.Sprintf("<sr:RequestID>%s:%s:2</sr:RequestID><sr:CommandVariant>", userSC, devB)))
		}},
		{attack: "duplicate ServiceReferenceVariant", want: CodeMALFORMED, build: func(t testing.TB) []byte {
			return signSC(t, edit(t, credit(t, 1), hdrSRV, hdrSRV+"<sr:ServiceReferenceVariant>1.1.1</sr:ServiceReferenceVariant>"))
		}},
		{attack: "duplicate CommandVariant", want: CodeMALFORMED, build: func(t testing.TB) []byte {
			return signSC(t, edit(t, credit(t, 1), hdrCV4, hdrCV4+"<sr:CommandVariant>5</sr:CommandVariant>"))
		}},
		{attack: "two Body children", want: CodeMALFORMED, build: func(t testing.TB) []byte {
			return signSC(t, edit(t, credit(t, 1), "</sr:Body>", "<sr:UpdatePaymentMode>"+prepay+"</sr:UpdatePaymentMode></sr:Body>"))
		}},
		{attack: "SR 1.6 with Credit and Prepayment", want: CodeMALFORMED, build: func(t testing.TB) []byte {
			return signSC(t, edit(t, credit(t, 1), bodyCred, bodyCred+prepay))
		}},
		{attack: "Prepayment before Credit", want: CodeMALFORMED, build: func(t testing.TB) []byte {
			return signSC(t, edit(t, credit(t, 1), bodyCred, prepay+bodyCred))
		}},
		{attack: "Credit with a Prepayment child", want: CodeMALFORMED, build: func(t testing.TB) []byte {
			return signSC(t, edit(t, credit(t, 1), bodyCred, "<sr:Credit>"+prepay+"</sr:Credit>"))
		}},
		{attack: "Credit with text", want: CodeMALFORMED, build: func(t testing.TB) []byte {
			return signSC(t, edit(t, credit(t, 1), bodyCred, "<sr:Credit>Prepayment</sr:Credit>"))
		}},
		{attack: "Credit in a foreign namespace", want: CodeMALFORMED, build: func(t testing.TB) []byte {
			return signSC(t, edit(t, credit(t, 1), bodyCred, `<x:Credit xmlns:x="urn:x"/>`))
		}},
		{attack: "CV 4 with a SignedPreCommand body", want: CodeMALFORMED, build: func(t testing.TB) []byte {
			m := signedPreCommand(t, credit(t, 1), gbcsToCreditCV)
			return signSC(t, edit(t, m, "<sr:CommandVariant>5<", "<sr:CommandVariant>4<"))
		}},
		{attack: "CV 5 with an UpdatePaymentMode body", want: CodeMALFORMED, build: func(t testing.TB) []byte {
			return signSC(t, edit(t, credit(t, 1), hdrCV4, "<sr:CommandVariant>5</sr:CommandVariant>"))
		}},
		{attack: "CV 5 SignedPreCommand with an empty payload", want: CodeMALFORMED, build: func(t testing.TB) []byte {
			return signSC(t, edit(t, credit(t, 1), hdrCV4, "<sr:CommandVariant>5</sr:CommandVariant>",
				"<sr:UpdatePaymentMode>\n      <sr:Credit/>\n    </sr:UpdatePaymentMode>",
				"<sr:SignedPreCommand><sr:GBCSPayload></sr:GBCSPayload></sr:SignedPreCommand>"))
		}},
		// Split SR / SRV: eligibility and the content rule read the SRV,
		// the DCC and downstream may read the SR; the two must agree.
		{attack: "SR 3.2 with SRV 1.6 (Credit body)", want: CodeMALFORMED, build: func(t testing.TB) []byte {
			return signSC(t, edit(t, credit(t, 1), hdrSR, "<sr:ServiceReference>3.2</sr:ServiceReference>"))
		}},
		{attack: "SR 1.6 with SRV 1.5 allowed for SC, Prepayment body", want: CodeMALFORMED,
			bundle: func(b *bundle.Bundle) { b.AllowLists[role.SoLRContingency] = []string{"1.6", "1.5"} },
			build: func(t testing.TB) []byte {
				return signSC(t, edit(t, credit(t, 1), hdrSRV, "<sr:ServiceReferenceVariant>1.5</sr:ServiceReferenceVariant>",
					bodyCred, prepay))
			}},
		{attack: "SR 1.6 with SRV 1.6.1 (consistent, not SC's)", want: CodeE2, build: func(t testing.TB) []byte {
			return signSC(t, edit(t, credit(t, 1), hdrSRV, "<sr:ServiceReferenceVariant>1.6.1</sr:ServiceReferenceVariant>"))
		}},
		{attack: "SR 1.60 with SRV 1.6 (numeric lookalike)", want: CodeMALFORMED, build: func(t testing.TB) []byte {
			return signSC(t, edit(t, credit(t, 1), hdrSR, "<sr:ServiceReference>1.60</sr:ServiceReference>"))
		}},
		{attack: "SRV 01.6 (leading zero)", want: CodeE2, build: func(t testing.TB) []byte {
			return signSC(t, edit(t, credit(t, 1), hdrSR, "<sr:ServiceReference>01.6</sr:ServiceReference>",
				hdrSRV, "<sr:ServiceReferenceVariant>01.6</sr:ServiceReferenceVariant>"))
		}},
		// ExecutionDateTime: a future-dated Credit must not execute after
		// the SoLR event that authorised it has ended.
		{attack: "ExecutionDateTime after the event's end", want: CodeE4, bundle: withEnd, build: func(t testing.TB) []byte {
			return signSC(t, edit(t, credit(t, 1), "<sr:UpdatePaymentMode>", exec("2030-01-01T00:00:00Z")))
		}},
		{attack: "ExecutionDateTime exactly at the event's end", want: CodeE4, bundle: withEnd, build: func(t testing.TB) []byte {
			return signSC(t, edit(t, credit(t, 1), "<sr:UpdatePaymentMode>", exec(end.Format(time.RFC3339))))
		}},
		{attack: "ExecutionDateTime within the event", want: "", bundle: withEnd, build: func(t testing.TB) []byte {
			return signSC(t, edit(t, credit(t, 1), "<sr:UpdatePaymentMode>", exec(testNow.Add(time.Hour).Format(time.RFC3339))))
		}},
		{attack: "ExecutionDateTime years ahead, open-ended event (accepted: no end to exceed)", want: "", build: func(t testing.TB) []byte {
			return signSC(t, edit(t, credit(t, 1), "<sr:UpdatePaymentMode>", exec("2030-01-01T00:00:00Z")))
		}},
		{attack: "ExecutionDateTime without a time zone", want: CodeMALFORMED, build: func(t testing.TB) []byte {
			return signSC(t, edit(t, credit(t, 1), "<sr:UpdatePaymentMode>", exec("2025-06-01T13:00:00")))
		}},
		{attack: "ExecutionDateTime after Credit", want: CodeMALFORMED, build: func(t testing.TB) []byte {
			return signSC(t, edit(t, credit(t, 1), bodyCred, bodyCred+"<sr:ExecutionDateTime>2025-06-01T13:00:00Z</sr:ExecutionDateTime>"))
		}},

		// RequestID edge cases.
		{attack: "RequestID lower-case EUIs (same identity)", want: "", build: func(t testing.TB) []byte {
			return signSC(t, edit(t, credit(t, 7), userSC.String()+":"+devA1.String(), lower))
		}},
		{attack: "RequestID counter with leading zero", want: CodeMALFORMED, build: func(t testing.TB) []byte {
			return signSC(t, edit(t, credit(t, 7), ":7<", ":07<"))
		}},
		{attack: "RequestID counter with plus sign", want: CodeMALFORMED, build: func(t testing.TB) []byte {
			return signSC(t, edit(t, credit(t, 7), ":7<", ":+7<"))
		}},
		{attack: "RequestID counter 2^64 (overflow)", want: CodeMALFORMED, build: func(t testing.TB) []byte {
			return signSC(t, edit(t, credit(t, 7), ":7<", ":18446744073709551616<"))
		}},
		{attack: "RequestID counter 2^64-1 (max, accepted)", want: "", build: func(t testing.TB) []byte {
			return signSC(t, edit(t, credit(t, 7), ":7<", ":18446744073709551615<"))
		}},
		{attack: "RequestID inner space", want: CodeMALFORMED, build: func(t testing.TB) []byte {
			return signSC(t, edit(t, credit(t, 7), ":7<", ": 7<"))
		}},
		{attack: "RequestID EUI without hyphens", want: CodeMALFORMED, build: func(t testing.TB) []byte {
			return signSC(t, edit(t, credit(t, 7), devA1.String(), strings.ReplaceAll(devA1.String(), "-", "")))
		}},
		{attack: "RequestID counter as a character reference", want: "", build: func(t testing.TB) []byte {
			return signSC(t, edit(t, credit(t, 7), ":7<", ":&#x37;<"))
		}},

		// Trust.
		{attack: "cert bound to SC and IS (an SC certificate carries exactly SC)", want: CodeE1,
			build: func(t testing.TB) []byte { return sign(t, credit(t, 1), multiRole, false) }},
		{attack: "x500UniqueIdentifier as UTF8String", want: CodeCERT,
			build: func(t testing.TB) []byte { return sign(t, credit(t, 1), textUID, false) }},
		{attack: "two x500UniqueIdentifiers", want: CodeCERT,
			build: func(t testing.TB) []byte { return sign(t, credit(t, 1), twoUID, false) }},
		{attack: "unconfigured issuing CA carried in KeyInfo", want: CodeCERT,
			build: func(t testing.TB) []byte {
				return withKeyInfoCerts(t, sign(t, credit(t, 1), underRogue, true), rogueCA)
			}},
		{attack: "unconfigured issuing CA first in KeyInfo", want: CodeCERT,
			build: func(t testing.TB) []byte {
				m := sign(t, credit(t, 1), underRogue, false)
				return withKeyInfoCerts(t, m, rogueCA, underRogue.cert)
			}},
		{attack: "expired issuing CA, leaf still valid", want: CodeCERT,
			opts:  func(o *Options) { o.Intermediates = append(o.Intermediates, oldCA) },
			build: func(t testing.TB) []byte { return sign(t, credit(t, 1), underOld, false) }},
		{attack: "STALE boundary: bundle exactly MaxAge old (accepted)", want: "",
			bundle: func(b *bundle.Bundle) { b.IssuedAt = testNow.Add(-24 * time.Hour) },
			build:  func(t testing.TB) []byte { return signSC(t, credit(t, 1)) }},
		{attack: "STALE boundary: bundle MaxAge + 1ns old", want: CodeSTALE,
			bundle: func(b *bundle.Bundle) { b.IssuedAt = testNow.Add(-24*time.Hour - 1) },
			build:  func(t testing.TB) []byte { return signSC(t, credit(t, 1)) }},
	}
	for _, tt := range tests {
		t.Run(tt.attack, func(t *testing.T) {
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
			at := tt.at
			if at.IsZero() {
				at = testNow.Add(time.Minute)
			}
			d := v.Verify(tt.build(t), at)
			if d.Code != tt.want {
				t.Fatalf("Verify = %s %q (%s), want code %q", d.Decision, d.Code, d.Reason, tt.want)
			}
			if tt.want != "" && (d.Accepted() || d.Route != "") {
				t.Fatalf("reject with accept/route: %+v", d)
			}
		})
	}
}

// A lower-case RequestID is the same originator and counter: it must not
// open a second replay space.
func TestRedTeamReplayCase(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	v := s.verifier(t, nil)
	up := sign(t, request(t, tmplCredit, userSC, devA1, 10), s.sc, false)
	lo := sign(t, edit(t, request(t, tmplCredit, userSC, devA1, 10), userSC.String(), strings.ToLower(userSC.String())), s.sc, false)
	d := mustAccept(t, v, up)
	if d.Route != devA1.String() {
		t.Fatalf("route %q", d.Route)
	}
	if d := v.Verify(lo, testNow.Add(time.Minute)); d.Code != CodeREPLAY {
		t.Fatalf("lower-case replay = %+v, want REPLAY", d)
	}
	// The captured message itself, resubmitted later.
	if d := v.Verify(up, testNow.Add(2*time.Minute)); d.Code != CodeREPLAY {
		t.Fatalf("replay = %+v, want REPLAY", d)
	}
}

// Many goroutines submit the same signed request: exactly one accept.
// Then many distinct counters race the ADT window: accepts never exceed
// the quarantine threshold and every reject is REPLAY or AD1.
func TestRedTeamConcurrency(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	const n = 64
	run := func(v *Verifier, msgs [][]byte) map[string]int {
		var mu sync.Mutex
		counts := map[string]int{}
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range msgs {
			wg.Add(1)
			go func(m []byte, i int) {
				defer wg.Done()
				<-start
				d := v.Verify(m, testNow.Add(time.Minute+time.Duration(i)*time.Millisecond))
				mu.Lock()
				counts[d.Code]++
				mu.Unlock()
			}(msgs[i], i)
		}
		close(start)
		wg.Wait()
		return counts
	}

	v := s.verifier(t, nil)
	same := sign(t, request(t, tmplCredit, userSC, devA1, 42), s.sc, false)
	msgs := make([][]byte, n)
	for i := range msgs {
		msgs[i] = same
	}
	c := run(v, msgs)
	if c[""] != 1 || c[CodeREPLAY] != n-1 {
		t.Fatalf("same request x%d: %v, want exactly one accept and %d REPLAY", n, c, n-1)
	}

	v = s.verifier(t, nil)
	for i := range msgs {
		msgs[i] = sign(t, request(t, tmplCredit, userSC, devA1, uint64(100+i)), s.sc, false)
	}
	c = run(v, msgs)
	quarantine := s.bundle.ADT[0].SRVs["1.6"].Quarantine
	if c[""] < 1 || c[""] > quarantine || c[""]+c[CodeREPLAY]+c[CodeAD1] != n {
		t.Fatalf("ADT race: %v, want 1..%d accepts, rest REPLAY/AD1", c, quarantine)
	}
}

// A CRL signed by a CA of another PKI that shares the issuing CA's name
// must not be loaded (and so cannot un-revoke or mask anything).
func TestRedTeamCRLWrongIssuer(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	other := newTestPKI(t, testNow) // same "CN=Z1, OU=07" name, other key
	crl := other.crl(t, testNow.Add(-time.Hour), testNow.Add(time.Hour))
	o := s.options(s.bundle)
	o.CRLs = [][]byte{crl}
	if _, err := New(o); !errors.Is(err, ErrConfig) {
		t.Fatalf("New with a foreign CRL: %v, want ErrConfig", err)
	}
	v := s.verifier(t, nil)
	if err := v.AddCRL(crl); !errors.Is(err, ErrConfig) {
		t.Fatalf("AddCRL foreign: %v, want ErrConfig", err)
	}
}

// A bundle older than the one in force is refused, and the verifier keeps
// deciding on the newer one.
func TestRedTeamBundleRollback(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	v := s.verifier(t, nil)
	old := cloneBundle(t, s.bundle)
	old.IssuedAt = s.bundle.IssuedAt.Add(-time.Second)
	old.SoLREvents[0].SRPUser = userB // would widen nothing, but must not load
	if err := v.SetBundle(old); !errors.Is(err, bundle.ErrBundleInvalid) {
		t.Fatalf("older bundle: %v", err)
	}
	if got := v.Bundle().IssuedAt; !got.Equal(s.bundle.IssuedAt) {
		t.Fatalf("bundle in force issued %s", got)
	}
	mustAccept(t, v, sign(t, request(t, tmplCredit, userSC, devA1, 1), s.sc, false))
}
