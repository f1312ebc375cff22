package verifier

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/bundle"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/internal/conformance"
	"github.com/smki/smki/role"
	"github.com/smki/smki/verifier/xmldsig"
)

// The scenario: supplier A (party A, user userA, devices devA1 SMETS1 and
// devA2 SMETS2) has failed; the SRP's SC user userSC holds an approved,
// active SoLR event for party A and an ADT file for userA's devices;
// supplier B (userB, devB) is healthy.
var (
	partyA   = eui64.MustParse("90-B3-D5-1F-30-0A-00-00")
	partyB   = eui64.MustParse("90-B3-D5-1F-30-0B-00-00")
	partySRP = eui64.MustParse("90-B3-D5-1F-30-0C-00-00")
	userA    = eui64.MustParse("90-B3-D5-1F-30-01-00-00")
	userB    = eui64.MustParse("90-B3-D5-1F-30-02-00-00")
	userSC   = eui64.MustParse("90-B3-D5-1F-30-03-00-00")
	userGone = eui64.MustParse("90-B3-D5-1F-30-09-00-00") // in no bundle
	devA0    = eui64.MustParse("00-DB-12-34-56-78-90-A0") // the recipient of DCC's ECS02/ECS03 command vectors
	devA1    = eui64.MustParse("00-DB-12-34-56-78-90-A1")
	devA2    = eui64.MustParse("00-DB-12-34-56-78-90-A2")
	devB     = eui64.MustParse("00-DB-12-34-56-78-90-B0")
	devNone  = eui64.MustParse("00-DB-12-34-56-78-90-FF")
	testNow  = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
)

const (
	tmplCredit     = "ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_REQUEST_DUIS.XML"
	tmplPrepay     = "ECS03_1.6_IMMEDIATE_SINGLE_SUCCESS_REQUEST_DUIS.XML"
	tmplGasPrepay  = "GCS03_1.6_IMMEDIATE_SUCCESS_REQUEST_DUIS.XML"
	tmplGasCredit  = "GCS02_1.6_IMMEDIATE_SUCCESS_REQUEST_DUIS.XML"
	tmplTariff     = "ECS01a_1.1.1_IMMEDIATE_BLOCK_SUCCESS_REQUEST_DUIS.XML"
	gbcsToPrepay   = "1.6_ECS03/ECS03_1.6_IMMEDIATE_SINGLE_SUCCESS_COMMAND_GBCS.HEX"
	gbcsToCreditCV = "1.6_ECS02/ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_COMMAND_GBCS.HEX"
	// Future-dated to 2030-01-15 09:00 UTC, and the cancellation of such a
	// pending change; both addressed to devA0 like gbcsToCreditCV.
	gbcsToCreditFuture = "1.6_ECS02/ECS02_1.6_FUTURE_DATED_TWIN_SUCCESS_COMMAND_GBCS.HEX"
	gbcsCreditCancel   = "1.6_ECS02/ECS02_1.6_CANCELLATION_TWIN_SUCCESS_COMMAND_GBCS.HEX"
)

type identity struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

type scenario struct {
	pki          *testPKI
	sc, a, b     identity
	bundleSigner identity
	bundle       *bundle.Bundle
}

func newScenario(t testing.TB) *scenario {
	t.Helper()
	p := newTestPKI(t, testNow)
	s := &scenario{pki: p}
	s.sc.cert, s.sc.key = p.leaf(t, leafSpec{id: userSC, roles: []role.UserRole{role.SoLRContingency}})
	s.a.cert, s.a.key = p.leaf(t, leafSpec{id: userA, roles: []role.UserRole{role.ImportSupplier}})
	s.b.cert, s.b.key = p.leaf(t, leafSpec{id: userB, roles: []role.UserRole{role.ImportSupplier}})
	s.bundleSigner.cert, s.bundleSigner.key = p.leaf(t, leafSpec{id: eui64.MustParse("90-B3-D5-1F-30-00-00-02"),
		ou: role.RPDSPXMLSign.OU(), roles: []role.UserRole{role.OtherUser}})
	s.bundle = s.baseBundle()
	return s
}

// baseBundle returns a fresh bundle value (tests mutate their own copy).
func (s *scenario) baseBundle() *bundle.Bundle {
	return &bundle.Bundle{
		Version: bundle.Version, IssuedAt: testNow.Add(-10 * time.Minute), MaxAge: bundle.Duration(24 * time.Hour),
		RevocationSeq: 7,
		Users: []bundle.User{
			{UserID: userA, PartyID: partyA, Role: role.ImportSupplier, Status: bundle.StatusActive, Name: "Supplier A"},
			{UserID: userB, PartyID: partyB, Role: role.ImportSupplier, Status: bundle.StatusActive, Name: "Supplier B"},
			{UserID: userSC, PartyID: partySRP, Role: role.SoLRContingency, Status: bundle.StatusActive, Name: "SRP SC"},
		},
		Parties: []bundle.Party{
			{ID: partyA, Name: "Supplier A Ltd", Status: bundle.StatusFailed},
			{ID: partyB, Name: "Supplier B Ltd", Status: bundle.StatusActive},
			{ID: partySRP, Name: "SRP Ltd", Status: bundle.StatusActive},
		},
		AllowLists: map[role.UserRole][]string{role.SoLRContingency: {"1.6"}},
		SoLREvents: []bundle.SoLREvent{{
			ID: "SOLR-1", FailedParty: partyA, FailedSupplierUsers: []eui64.ID{userA}, SRPUser: userSC,
			Instruction: "OFGEM/2025/001", Start: testNow.Add(-time.Hour), State: bundle.EventActive,
			ApprovedBy: "officer-2", RevokeAt: testNow.Add(-30 * time.Minute),
		}},
		ADT: []bundle.ADTScope{{SCUser: userSC, SupplierUser: userA, SRVs: map[string]bundle.ADTThreshold{
			"1.6": {Period: bundle.Duration(time.Hour), Warning: 3, Quarantine: 5},
		}}},
		Devices: []bundle.Device{
			{Device: devA0, SupplierUser: userA, SMETS: 2},
			{Device: devA1, SupplierUser: userA, SMETS: 1},
			{Device: devA2, SupplierUser: userA, SMETS: 2},
			{Device: devB, SupplierUser: userB, SMETS: 2},
		},
		Certificates: [][]byte{s.sc.cert.Raw, s.a.cert.Raw, s.b.cert.Raw},
	}
}

// bundleWith is a copy of the scenario's bundle changed by mod (nil:
// unchanged), for a table's case to alter without touching the others'.
func (s *scenario) bundleWith(t testing.TB, mod func(*bundle.Bundle)) *bundle.Bundle {
	t.Helper()
	b := cloneBundle(t, s.bundle)
	if mod != nil {
		mod(b)
	}
	return b
}

func (s *scenario) options(b *bundle.Bundle) Options {
	return Options{
		Roots: []*x509.Certificate{s.pki.root}, Intermediates: []*x509.Certificate{s.pki.ca},
		Bundle: b, Clock: func() time.Time { return testNow },
	}
}

func (s *scenario) verifier(t testing.TB, mod func(*Options)) *Verifier {
	t.Helper()
	o := s.options(s.bundle)
	if mod != nil {
		mod(&o)
	}
	v, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

var requestIDRe = regexp.MustCompile(`<sr:RequestID>[^<]*</sr:RequestID>`)

// request reads a DUIS template and rewrites its RequestID.
func request(t testing.TB, file string, orig, target eui64.ID, counter uint64) []byte {
	t.Helper()
	data, err := os.ReadFile(conformance.Path(t, "duis", "requests", file))
	if err != nil {
		t.Fatal(err)
	}
	return withRequestID(t, data, orig, target, counter)
}

func withRequestID(t testing.TB, data []byte, orig, target eui64.ID, counter uint64) []byte {
	t.Helper()
	if !requestIDRe.Match(data) {
		t.Fatal("template has no RequestID")
	}
	id := fmt.Sprintf("<sr:RequestID>%s:%s:%d</sr:RequestID>", orig, target, counter)
	return requestIDRe.ReplaceAll(data, []byte(id))
}

// signedPreCommand turns an SR 1.6 template into Command Variant 5 with the
// GBCS command vector file as its SignedPreCommand payload.
func signedPreCommand(t testing.TB, data []byte, vector string) []byte {
	t.Helper()
	hexText, err := os.ReadFile(conformance.Path(t, "gbcs", vector))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := hex.DecodeString(strings.TrimSpace(string(hexText)))
	if err != nil {
		t.Fatal(err)
	}
	body := regexp.MustCompile(`(?s)<sr:Body>.*</sr:Body>`)
	out := body.ReplaceAll(data, []byte("<sr:Body><sr:SignedPreCommand><sr:GBCSPayload>"+
		base64.StdEncoding.EncodeToString(raw)+"</sr:GBCSPayload></sr:SignedPreCommand></sr:Body>"))
	return bytes.Replace(out, []byte("<sr:CommandVariant>4<"), []byte("<sr:CommandVariant>5<"), 1)
}

func sign(t testing.TB, data []byte, id identity, includeCert bool) []byte {
	t.Helper()
	out, err := xmldsig.Sign(data, id.key, id.cert, xmldsig.SignOptions{IncludeCertificate: includeCert})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
