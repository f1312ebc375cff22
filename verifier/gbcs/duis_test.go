package gbcs

import (
	"encoding/base64"
	"errors"
	"os"
	"regexp"
	"testing"

	"github.com/smki/smki/internal/conformance"
)

// TestDUISPayload reads the GBCSPayload of a DUIS message produced by DCC
// Boxed (base64, a device response inside a MAC header) the way the
// verifier will: it must parse, and it is no change to Credit.
func TestDUISPayload(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(conformance.Path(t, "duis", "requests", "dccboxed-message.xml"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`GBCSPayload>([A-Za-z0-9+/=\s]+)<`).FindSubmatch(raw)
	if m == nil {
		t.Fatal("no GBCSPayload")
	}
	b, err := base64.StdEncoding.DecodeString(string(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	h, err := ParseHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	if h.Frame != FrameGeneralCiphering || h.Kind != KindResponse {
		t.Fatalf("frame 0x%02X kind %s", h.Frame, h.Kind)
	}
	t.Logf("message code 0x%04X use case %s", h.MessageCode, h.UseCase)
	if _, ok, err := ToCredit(b); ok || !errors.Is(err, ErrNotCommand) {
		t.Fatalf("ToCredit: %v %v", ok, err)
	}
}
