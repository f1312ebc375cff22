package testpki_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"math/big"
	"path/filepath"
	"testing"
	"time"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/testpki"
	"github.com/smki/smki/verifier/duis"
	"github.com/smki/smki/verifier/gbcs"
	"github.com/smki/smki/verifier/xmldsig"
)

// TestGBCSCommandReadByVerifier: every command GBCSCommand builds is read
// by the verifier's GBCS reader (package verifier/gbcs, an independent
// implementation of the frame) as what it says: a Signed Pre-Command in a
// General Signing frame, from the originator to the recipient, with the
// use case's Message Code and content, signed r||s over the frame's
// signed part with the key given, and to Credit (with the execution time)
// exactly for ECS02 and GCS02.
func TestGBCSCommandReadByVerifier(t *testing.T) {
	t.Parallel()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	supplier := eui64.MustParse("90-B3-D5-1F-30-01-00-00")
	device := eui64.MustParse("00-DB-12-34-56-78-90-A1")
	later := time.Date(2030, 1, 15, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		uc       testpki.GBCSUseCase
		at       time.Time
		code     uint16
		toCredit bool
	}{
		{testpki.ECS02, time.Time{}, gbcs.CodeECS02, true},
		{testpki.ECS02, later, gbcs.CodeECS02, true},
		{testpki.ECS03, time.Time{}, gbcs.CodeECS03, false},
		{testpki.GCS02, time.Time{}, gbcs.CodeGCS02, true},
		{testpki.GCS02, later, gbcs.CodeGCS02, true},
		{testpki.GCS03, time.Time{}, gbcs.CodeGCS03, false},
	}
	for _, tc := range tests {
		name := string(tc.uc)
		if !tc.at.IsZero() {
			name += " future-dated"
		}
		t.Run(name, func(t *testing.T) {
			cmd := testpki.GBCSCommand{UseCase: tc.uc, Originator: supplier, Recipient: device, Counter: 1234, ExecuteAt: tc.at}
			msg, err := cmd.Sign(key)
			if err != nil {
				t.Fatal(err)
			}
			h, err := gbcs.ParseHeader(msg)
			if err != nil {
				t.Fatalf("ParseHeader: %v", err)
			}
			if h.Frame != gbcs.FrameGeneralSigning || h.Kind != gbcs.KindCommand || h.CRAFlag != gbcs.CRACommand {
				t.Errorf("frame 0x%02X kind %s CRA %d, want a Signed Pre-Command", h.Frame, h.Kind, h.CRAFlag)
			}
			if h.Originator != supplier || h.Recipient != device || h.OriginatorCounter != 1234 {
				t.Errorf("originator %s recipient %s counter %d", h.Originator, h.Recipient, h.OriginatorCounter)
			}
			if h.MessageCode != tc.code || string(h.UseCase) != string(tc.uc) {
				t.Errorf("message code 0x%04X use case %s, want 0x%04X %s", h.MessageCode, h.UseCase, tc.code, tc.uc)
			}
			if !signedBy(h, &key.PublicKey) {
				t.Errorf("the signature (%d bytes) does not verify over the signed data", len(h.Signature))
			}
			uc, ok, err := gbcs.ToCredit(msg)
			if string(uc) != string(tc.uc) || ok != tc.toCredit {
				t.Fatalf("ToCredit = %s, %v, %v; want %s, %v", uc, ok, err, tc.uc, tc.toCredit)
			}
			if !tc.toCredit {
				if !errors.Is(err, gbcs.ErrNotCredit) {
					t.Errorf("ToCredit error %v, want ErrNotCredit", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			x, err := gbcs.ExecutionTime(msg)
			switch {
			case err != nil:
				t.Errorf("ExecutionTime: %v", err)
			case tc.at.IsZero() && x != nil:
				t.Errorf("ExecutionTime %s, want at once (nil)", x)
			case !tc.at.IsZero() && (x == nil || !x.Equal(tc.at)):
				t.Errorf("ExecutionTime %v, want %s", x, tc.at)
			}
		})
	}
}

// signedBy reports whether h's signature is key's, raw r||s ECDSA P-256
// over SHA-256 of its signed data.
func signedBy(h *gbcs.Header, key *ecdsa.PublicKey) bool {
	digest := sha256.Sum256(h.SignedData)
	return len(h.Signature) == 64 && ecdsa.Verify(key, digest[:],
		new(big.Int).SetBytes(h.Signature[:32]), new(big.Int).SetBytes(h.Signature[32:]))
}

// TestGBCSCommandRefusesWhatItCannotBuild: a zero originator or
// recipient, an unknown use case or an execution time before the ZigBee
// epoch (GCS) or with sub-second parts is an error, not a frame.
func TestGBCSCommandRefusesWhatItCannotBuild(t *testing.T) {
	t.Parallel()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ok := testpki.GBCSCommand{UseCase: testpki.ECS02, Originator: eui64.MustParse("90-B3-D5-1F-30-01-00-00"),
		Recipient: eui64.MustParse("00-DB-12-34-56-78-90-A1")}
	for name, f := range map[string]func(c *testpki.GBCSCommand){
		"no originator":    func(c *testpki.GBCSCommand) { c.Originator = eui64.ID{} },
		"no recipient":     func(c *testpki.GBCSCommand) { c.Recipient = eui64.ID{} },
		"unknown use case": func(c *testpki.GBCSCommand) { c.UseCase = "ECS99" },
		"GCS before 2000": func(c *testpki.GBCSCommand) {
			c.UseCase, c.ExecuteAt = testpki.GCS02, time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC)
		},
		"sub-second execution": func(c *testpki.GBCSCommand) { c.ExecuteAt = time.Date(2030, 1, 1, 0, 0, 0, 5, time.UTC) },
	} {
		c := ok
		f(&c)
		if _, err := c.Sign(key); !errors.Is(err, testpki.ErrRequest) {
			t.Errorf("%s: err %v, want ErrRequest", name, err)
		}
	}
	if _, err := ok.Sign(key); err != nil {
		t.Errorf("the unchanged command: %v", err)
	}
}

// TestPreCommandCasesSignedBySupplier: every Command Variant 5 case
// carries a GBCS command signed by the Digital Signing key of the
// Supplier it names as originator (users/SUPPLIER-ds), the key whose
// certificate the device trusts, and routed in a request signed by the
// case's signer.
func TestPreCommandCasesSignedBySupplier(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "pki")
	p, err := testpki.Build(context.Background(), testpki.Options{Out: out, At: casesAt})
	if err != nil {
		t.Fatal(err)
	}
	dsKey := map[eui64.ID]*ecdsa.PublicKey{}
	for _, cr := range p.Users {
		if cr.User.Profile == ca.DigitalSigning {
			dsKey[cr.User.ID] = cr.Cert.PublicKey.(*ecdsa.PublicKey)
		}
	}
	n := 0
	for _, c := range p.Cases.Cases {
		if c.CommandVariant != 5 {
			continue
		}
		n++
		doc, err := xmldsig.Parse(readCase(t, out, c), xmldsig.Limits{})
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		root, _, err := doc.Verify(p.Users[c.Signer].Cert.PublicKey.(*ecdsa.PublicKey))
		if err != nil {
			t.Fatalf("%s: the request's signature: %v", c.Name, err)
		}
		req, err := duis.FromElement(root)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		h, err := gbcs.ParseHeader(req.GBCSPayload)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		if key := dsKey[h.Originator]; key == nil || !signedBy(h, key) {
			t.Errorf("%s: the GBCS command from %s is not signed by that Supplier's Digital Signing key", c.Name, h.Originator)
		}
		if h.OriginatorCounter != req.ID.Counter {
			t.Errorf("%s: GBCS counter %d, RequestID counter %d", c.Name, h.OriginatorCounter, req.ID.Counter)
		}
	}
	if n == 0 {
		t.Fatal("no Command Variant 5 case")
	}
}
