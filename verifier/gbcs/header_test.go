package gbcs

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/internal/conformance"
)

var (
	supplier = eui64.MustParse("90-B3-D5-1F-30-01-00-00")
	esme     = eui64.MustParse("00-DB-12-34-56-78-90-A0")
	gsme     = eui64.MustParse("00-DB-12-34-56-78-90-A1")
)

func TestVectorsClassify(t *testing.T) {
	t.Parallel()
	seen := map[UseCase]map[Kind]int{}
	for _, v := range loadVectors(t) {
		t.Run(v.name, func(t *testing.T) {
			if v.kind == 0 {
				t.Fatalf("file name has no kind tag")
			}
			h, err := ParseHeader(v.msg)
			if err != nil {
				t.Fatalf("ParseHeader: %v", err)
			}
			if h.UseCase != v.useCase || h.Kind != v.kind {
				t.Fatalf("classified %s %s, want %s %s", h.UseCase, h.Kind, v.useCase, v.kind)
			}
			device := esme
			if strings.HasPrefix(string(v.useCase), "G") {
				device = gsme
			}
			from, to := supplier, device
			if v.kind == KindResponse || v.kind == KindAlert {
				from, to = device, supplier
			}
			if h.Originator != from || h.Recipient != to {
				t.Errorf("originator %s recipient %s, want %s %s", h.Originator, h.Recipient, from, to)
			}
			switch v.kind {
			case KindCommand:
				if h.Frame != FrameGeneralCiphering || len(h.MAC) != macLen || len(h.Signature) != signatureLen {
					t.Errorf("command: frame 0x%02X MAC %d signature %d", h.Frame, len(h.MAC), len(h.Signature))
				}
			case KindPreCommand:
				if h.Frame != FrameGeneralSigning || h.HasSignatureField || h.Signature != nil {
					t.Errorf("pre-command has a signature field")
				}
			case KindAlert:
				if h.AlertCode != 0x8F66 || UseCaseOf(h.ReportedMessageCode) != v.useCase {
					t.Errorf("alert code 0x%04X reports 0x%04X", h.AlertCode, h.ReportedMessageCode)
				}
			case KindResponse:
				if h.DateTime == nil || !h.DateTime.Equal(time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)) {
					t.Errorf("response date-time %v", h.DateTime)
				}
			}
			if !bytes.HasSuffix(h.SignedData, h.Content) {
				t.Errorf("SignedData does not end with the content")
			}
		})
		if seen[v.useCase] == nil {
			seen[v.useCase] = map[Kind]int{}
		}
		seen[v.useCase][v.kind]++
	}
	for _, uc := range []UseCase{ECS02, ECS03, GCS02, GCS03} {
		for _, k := range []Kind{KindPreCommand, KindCommand, KindResponse, KindAlert} {
			if seen[uc][k] == 0 {
				t.Errorf("no %s %s vector", uc, k)
			}
		}
	}
}

// TestSignatureBoundaries proves SignedData and Signature are cut where
// GBCS signs: every COMMAND vector verifies under the test supplier's
// Digital Signing key, with or without the MAC header.
func TestSignatureBoundaries(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(conformance.Path(t, "certs", "Z1-supplier-ds.pem"))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(raw)
	pub := certKey(t, blk.Bytes)
	n := 0
	for _, v := range loadVectors(t) {
		if v.kind != KindCommand {
			continue
		}
		n++
		for _, msg := range [][]byte{v.msg, stripMAC(t, v.msg)} {
			h, err := ParseHeader(msg)
			if err != nil {
				t.Fatalf("%s: %v", v.name, err)
			}
			d := sha256.Sum256(h.SignedData)
			r, s := new(big.Int).SetBytes(h.Signature[:32]), new(big.Int).SetBytes(h.Signature[32:])
			if !ecdsa.Verify(pub, d[:], r, s) {
				t.Errorf("%s (frame 0x%02X): signature does not verify over SignedData", v.name, h.Frame)
			}
			// A flipped content byte must break it: the check can fail.
			bad := bytes.Clone(h.SignedData)
			bad[len(bad)-1] ^= 1
			d = sha256.Sum256(bad)
			if ecdsa.Verify(pub, d[:], r, s) {
				t.Errorf("%s: signature verifies over altered data", v.name)
			}
		}
	}
	if n == 0 {
		t.Fatal("no COMMAND vectors")
	}
}

func TestTruncationsAndTrailingBytes(t *testing.T) {
	t.Parallel()
	for _, v := range loadVectors(t) {
		for n := 0; n < len(v.msg); n++ {
			if _, err := ParseHeader(v.msg[:n]); !errors.Is(err, ErrMalformed) {
				t.Fatalf("%s cut to %d bytes: err %v, want ErrMalformed", v.name, n, err)
			}
			if _, _, err := ToCredit(v.msg[:n]); !errors.Is(err, ErrMalformed) {
				t.Fatalf("%s cut to %d bytes: ToCredit err %v", v.name, n, err)
			}
		}
		if v.kind == KindPreCommand {
			continue // a byte after a Pre-Command is read as a signature length
		}
		if _, err := ParseHeader(append(bytes.Clone(v.msg), 0x00)); !errors.Is(err, ErrMalformed) {
			t.Fatalf("%s plus a trailing byte: err %v", v.name, err)
		}
	}
}

func TestParseHex(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []byte
		ok   bool
	}{
		{"DF09", []byte{0xDF, 0x09}, true},
		{" df 0 9\r\n", []byte{0xDF, 0x09}, true},
		{"\tDf\n09\n", []byte{0xDF, 0x09}, true},
		{"", []byte{}, true},
		{"DF0", nil, false},
		{"DG09", nil, false},
		{"DF:09", nil, false},
	}
	for _, tc := range tests {
		got, err := ParseHex(tc.in)
		if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrMalformed)) {
			t.Errorf("ParseHex(%q) err %v", tc.in, err)
			continue
		}
		if tc.ok && !bytes.Equal(got, tc.want) {
			t.Errorf("ParseHex(%q) = %X, want %X", tc.in, got, tc.want)
		}
	}
}

// synth builds a General Signing frame from parts (hex), for the cases the
// vectors do not cover.
func synth(t *testing.T, parts ...string) []byte {
	t.Helper()
	b, err := ParseHex(strings.Join(parts, ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const (
	gsHead  = "DF 09 01 00000000000003EA 08 90B3D51F30010000 08 00DB1234567890A0"
	dtUTC   = "0C 07DF0101FF000000008000FF"
	code1A  = "02 001A"
	content = "03 010203"
	sig64   = "40" + "11111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111"
)

func TestParseHeaderSynthetic(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		msg  string
		kind Kind // 0: must fail with ErrMalformed
	}{
		{"pre-command", gsHead + "00" + code1A + content, KindPreCommand},
		{"signed pre-command", gsHead + "00" + code1A + content + sig64, KindCommand},
		{"empty signature", gsHead + "00" + code1A + content + "00", KindCommand},
		{"date-time", gsHead + dtUTC + code1A + content, KindPreCommand},
		{"supplementary other-info", gsHead + "00" + "0A 001A 0011223344556677" + content, KindPreCommand},
		{"long-form lengths", gsHead + "00" + "81 02 001A" + "82 0003 010203", KindPreCommand},
		{"empty", "", 0},
		{"unknown frame", "E0" + gsHead[2:] + "00" + code1A + content, 0},
		{"CRA 0", "DF 09 00" + gsHead[8:] + "00" + code1A + content, 0},
		{"CRA 4", "DF 09 04" + gsHead[8:] + "00" + code1A + content, 0},
		{"transaction-id length 8", "DF 08" + gsHead[5:] + "00" + code1A + content, 0},
		{"system title length 7", strings.Replace(gsHead, "08 90", "07 90", 1) + "00" + code1A + content, 0},
		{"date-time length 5", gsHead + "05 0102030405" + code1A + content, 0},
		{"month 13", gsHead + "0C 07DF0D01FF000000008000FF" + code1A + content, 0},
		{"30 February", gsHead + "0C 07E0021EFF000000008000FF" + code1A + content, 0},
		{"no message code", gsHead + "00" + "01 00" + content, 0},
		{"content overruns", gsHead + "00" + code1A + "04 010203", 0},
		{"length form 0x84", gsHead + "00" + code1A + "84 00000003 010203", 0},
		{"length form 0x80", gsHead + "00" + code1A + "80 010203", 0},
		{"signature 32 bytes", gsHead + "00" + code1A + content + "20" + sig64[2:66], 0},
		{"signature overruns", gsHead + "00" + code1A + content + sig64[:100], 0},
		{"trailing byte", gsHead + "00" + code1A + content + "00 00", 0},
		{"response without signature field", strings.Replace(gsHead, "09 01", "09 02", 1) + "00" + code1A + content, 0},
		{"MAC header with a transaction-id", "DD 01 00 00 00 00 00 00", 0},
		{"MAC header too short", "DD 00 00 00 00 00 00 03 11 000000", 0},
		{"future-dated alert, empty body", strings.Replace(gsHead, "09 01", "09 03", 1) + "00 02 00CC 00" + sig64, 0},
		{"future-dated GBZ alert, wrong profile", strings.Replace(gsHead, "09 01", "09 03", 1) + "00 02 00CD 0A 01080100000000000000" + sig64, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := ParseHeader(synth(t, tc.msg))
			if tc.kind == 0 {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("err %v, want ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if h.Kind != tc.kind || h.MessageCode != CodeECS02 || h.UseCase != ECS02 {
				t.Fatalf("got %s code 0x%04X %s", h.Kind, h.MessageCode, h.UseCase)
			}
			if !bytes.Equal(h.Content, []byte{1, 2, 3}) {
				t.Fatalf("content %X", h.Content)
			}
		})
	}
}

func TestParseDateTime(t *testing.T) {
	t.Parallel()
	utc := time.Date(2022, 3, 4, 5, 6, 7, 80*int(time.Millisecond), time.UTC)
	tests := []struct {
		name string
		hex  string // 12 bytes: yyyy mm dd wd hh mi ss hs dev st
		want *time.Time
		ok   bool
	}{
		{"UTC unspecified deviation", "07E6 03 04 FF 05 06 07 08 8000 FF", &utc, true},
		{"deviation 0", "07E6 03 04 05 05 06 07 08 0000 00", &utc, true},
		{"deviation 60 not guessed", "07E6 03 04 FF 05 06 07 08 003C FF", nil, true},
		{"wildcard year", "FFFF 03 04 FF 05 06 07 08 8000 FF", nil, true},
		{"wildcard month", "07E6 FF 04 FF 05 06 07 08 8000 FF", nil, true},
		{"DST end month", "07E6 FD 04 FF 05 06 07 08 8000 FF", nil, true},
		{"wildcard second", "07E6 03 04 FF 05 06 FF 08 8000 FF", nil, true},
		{"hour 24", "07E6 03 04 FF 18 06 07 08 8000 FF", nil, false},
		{"minute 60", "07E6 03 04 FF 05 3C 07 08 8000 FF", nil, false},
		{"hundredths 100", "07E6 03 04 FF 05 06 07 64 8000 FF", nil, false},
		{"weekday 8", "07E6 03 04 08 05 06 07 08 8000 FF", nil, false},
		{"deviation 721", "07E6 03 04 FF 05 06 07 08 02D1 FF", nil, false},
		{"month 0", "07E6 00 04 FF 05 06 07 08 8000 FF", nil, false},
		{"29 February 2022", "07E6 02 1D FF 05 06 07 08 8000 FF", nil, false},
		{"13 bytes", "07E6 03 04 FF 05 06 07 08 8000 FF 00", nil, false},
	}
	for _, tc := range tests {
		b, err := ParseHex(tc.hex)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got, err := parseDateTime(b)
		if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrMalformed)) {
			t.Errorf("%s: err %v, want ok=%v", tc.name, err, tc.ok)
			continue
		}
		if (got == nil) != (tc.want == nil) || (got != nil && !got.Equal(*tc.want)) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestUseCaseOf(t *testing.T) {
	t.Parallel()
	for code, want := range map[uint16]UseCase{0x001A: ECS02, 0x001B: ECS03, 0x006C: GCS02, 0x006D: GCS03, 0x0019: "UNKNOWN:0x0019", 0x00CC: "UNKNOWN:0x00CC"} {
		if got := UseCaseOf(code); got != want {
			t.Errorf("UseCaseOf(0x%04X) = %s, want %s", code, got, want)
		}
		if want.Known() == strings.HasPrefix(string(want), "UNKNOWN") {
			t.Errorf("%s.Known() wrong", want)
		}
	}
	if !ECS02.ToCredit() || !GCS02.ToCredit() || ECS03.ToCredit() || GCS03.ToCredit() {
		t.Error("UseCase.ToCredit wrong")
	}
}

// certKey returns a DCC test certificate's ECDSA key. crypto/x509 refuses
// these certificates whole (their x500UniqueIdentifier is a BIT STRING), so
// the SubjectPublicKeyInfo is cut out with cryptobyte.
func certKey(t *testing.T, der []byte) *ecdsa.PublicKey {
	t.Helper()
	in := cryptobyte.String(der)
	var cert, tbs cryptobyte.String
	var spki []byte
	ok := in.ReadASN1(&cert, cbasn1.SEQUENCE) && cert.ReadASN1(&tbs, cbasn1.SEQUENCE) &&
		tbs.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) &&
		tbs.SkipASN1(cbasn1.INTEGER) && tbs.SkipASN1(cbasn1.SEQUENCE) && // serial, signature
		tbs.SkipASN1(cbasn1.SEQUENCE) && tbs.SkipASN1(cbasn1.SEQUENCE) && // issuer, validity
		tbs.SkipASN1(cbasn1.SEQUENCE) && // subject
		tbs.ReadASN1Element((*cryptobyte.String)(&spki), cbasn1.SEQUENCE)
	if !ok {
		t.Fatal("cannot find the certificate's SubjectPublicKeyInfo")
	}
	k, err := x509.ParsePKIXPublicKey(spki)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*ecdsa.PublicKey)
}
