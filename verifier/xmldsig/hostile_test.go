package xmldsig

import (
	"crypto/ecdsa"
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/internal/cputime"
)

// A hostile document is as large as the limits allow and spends its bytes
// on what costs the parser the most per byte. hostileShapes are the worst
// found: one element after another, each carrying MaxAttrs attributes
// (plain, namespaced, or with a reference to decode); a canonical form
// four to six times the document (text of '>', attribute values of '"');
// or character data cut into as many runs as its bytes allow.
var hostileShapes = []struct {
	name string
	elem func(b *strings.Builder, lim Limits) // one child of the document element
}{
	{"attrs", func(b *strings.Builder, lim Limits) { hostileAttrs(b, lim, "", `""`) }},
	{"attrs-ns", func(b *strings.Builder, lim Limits) { hostileAttrs(b, lim, "p:", `""`) }},
	{"attrs-decoded", func(b *strings.Builder, lim Limits) { hostileAttrs(b, lim, "", `"&lt;"`) }},
	{"gt-text", func(b *strings.Builder, lim Limits) { b.WriteString("<e>" + strings.Repeat(">", 512) + "</e>") }},
	{"quote-attrs", func(b *strings.Builder, lim Limits) { b.WriteString("<e a='" + strings.Repeat(`"`, 512) + "'/>") }},
	{"text-runs", func(b *strings.Builder, lim Limits) {
		b.WriteString("<e>" + strings.Repeat("&lt;<![CDATA[x]]>", 64) + "</e>")
	}},
}

// hostileAttrs writes <e with MaxAttrs attributes a, b, ... z, ab, bb, ...
func hostileAttrs(b *strings.Builder, lim Limits, prefix, value string) {
	b.WriteString("<e")
	for k := range lim.MaxAttrs {
		b.WriteString(" " + prefix)
		b.WriteByte(byte('a' + k%26))
		if k >= 26 {
			b.WriteByte(byte('a' + k/26))
		}
		b.WriteString("=" + value)
	}
	b.WriteString("/>")
}

// hostileDoc is a document of the shape under lim, signed by key: children
// until the next would pass MaxElements or MaxBytes (room is kept for the
// signature). What an attacker sends is the same document with a
// signature that does not verify; it reaches Verify with a trusted
// signer's certificate in KeyInfo (certificates are public).
func hostileDoc(t testing.TB, lim Limits, shape int, key *ecdsa.PrivateKey, cert *x509.Certificate) []byte {
	t.Helper()
	lim = lim.withDefaults()
	const sigElems, sigBytes = 16, 2048
	var b, e strings.Builder
	b.WriteString(`<r xmlns:p="urn:p">`)
	for n := 1; n+1+sigElems <= lim.MaxElements; n++ {
		e.Reset()
		hostileShapes[shape].elem(&e, lim)
		if b.Len()+e.Len()+sigBytes > lim.MaxBytes {
			break
		}
		b.WriteString(e.String())
	}
	b.WriteString(`</r>`)
	doc, err := sign([]byte(b.String()), key, cert, SignOptions{}, lim)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// parseVerify is what the verifier does with a request: Parse, Verify with
// the signer's key, Release.
func parseVerify(doc []byte, lim Limits, pub *ecdsa.PublicKey) error {
	d, err := Parse(doc, lim)
	if err != nil {
		return err
	}
	defer d.Release()
	_, _, err = d.Verify(pub)
	return err
}

// allocated is the bytes f allocates, the least of three runs (the pools
// are warm after the first).
func allocated(f func()) uint64 {
	var least uint64
	for i := range 3 {
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		f()
		runtime.ReadMemStats(&m1)
		if n := m1.TotalAlloc - m0.TotalAlloc; i == 0 || n < least {
			least = n
		}
	}
	return least
}

// maxHostileAlloc is the bound on what Parse+Verify of a hostile document
// (one whose signature does not verify) allocates, as a multiple of its
// size, at DefaultLimits and at MaxLimits. The scan sizes its token,
// attribute and text lists once from byte counts; what remains is the
// lists themselves (an attribute is 24 bytes and may take 5, a token 52
// and may take 7) and the canonical form (up to six times the document,
// grown in one step at the rate seen: scanner.grow). Before, append
// growth made an attribute-heavy document allocate 105 times its size,
// and text of '>' 20 times.
const maxHostileAlloc = 10

// TestHostileAllocation: the worst hostile documents at DefaultLimits and
// at MaxLimits allocate at most maxHostileAlloc times their size in
// Parse+Verify. A document a trusted signer really signed also gets its
// Element tree: TestSignedAllocation bounds that.
func TestHostileAllocation(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 4 MiB documents")
	}
	key, cert := testCert(t)
	other, _ := testCert(t)
	for _, lim := range []Limits{DefaultLimits(), MaxLimits()} {
		for i, sh := range hostileShapes {
			doc := hostileDoc(t, lim, i, key, cert)
			var err error
			n := allocated(func() { err = parseVerify(doc, lim, &other.PublicKey) })
			if err == nil || !strings.Contains(err.Error(), "ECDSA signature does not verify") {
				t.Fatalf("%s: %v, want the signature refused", sh.name, err)
			}
			x := float64(n) / float64(len(doc))
			t.Logf("MaxBytes %d %s: %d bytes; hostile allocates %d (%.1fx)", lim.MaxBytes, sh.name, len(doc), n, x)
			if x > maxHostileAlloc {
				t.Errorf("MaxBytes %d %s: Parse+Verify of %d bytes allocated %d bytes, %.1fx its size, want at most %dx",
					lim.MaxBytes, sh.name, len(doc), n, x, maxHostileAlloc)
			}
		}
	}
}

// BenchmarkHostile: Parse+Verify of the hostile documents (refused at the
// ECDSA check, the most work a forger gets), per shape and limits. Metrics:
// "cpu-ms/op" the thread's CPU time (other load on the machine does not
// count);
// "B/in-byte" allocated per input byte; "ns/in-byte" time per input byte;
// "x-bytescan" that time over a plain byte loop over the same document;
// "x-sr" over the per-byte time of a signed 2 KB SR 1.6 (Parse+Verify,
// measured in the same run). Both baselines are the fastest of their runs.
func BenchmarkHostile(b *testing.B) {
	key, cert := testCert(b)
	other, _ := testCert(b)
	sr, err := Sign([]byte(sr16), key, cert, SignOptions{IncludeCertificate: true})
	if err != nil {
		b.Fatal(err)
	}
	// The SR's time per byte, measured once in this run.
	var srNs float64
	for _, lc := range []struct {
		name string
		lim  Limits
	}{{"default", DefaultLimits()}, {"max", MaxLimits()}} {
		for i, sh := range hostileShapes {
			b.Run(fmt.Sprintf("%s/%s", lc.name, sh.name), func(b *testing.B) {
				doc := hostileDoc(b, lc.lim, i, key, cert)
				if srNs == 0 {
					srNs = perByte(sr, 2000, func() {
						if err := parseVerify(sr, DefaultLimits(), &key.PublicKey); err != nil {
							b.Fatal(err)
						}
					})
				}
				scanNs := perByte(doc, 20, func() { byteScanSink = byteScan(doc) })
				b.SetBytes(int64(len(doc)))
				b.ReportAllocs()
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				var m0, m1 runtime.MemStats
				runtime.ReadMemStats(&m0)
				b.ResetTimer()
				cpu := cputime.Thread()
				for b.Loop() {
					if err := parseVerify(doc, lc.lim, &other.PublicKey); err == nil {
						b.Fatal("hostile document verified")
					}
				}
				cpu = cputime.Thread() - cpu
				b.StopTimer()
				runtime.ReadMemStats(&m1)
				b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
				perByte := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / float64(len(doc))
				b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/float64(b.N)/float64(len(doc)), "B/in-byte")
				b.ReportMetric(perByte, "ns/in-byte")
				b.ReportMetric(perByte/scanNs, "x-bytescan")
				b.ReportMetric(perByte/srNs, "x-sr")
			})
		}
	}
}

// perByte is the time of f, which handles doc, per byte of doc: the least
// of n runs.
func perByte(doc []byte, n int, f func()) float64 {
	least := time.Duration(math.MaxInt64)
	for range n {
		t0 := time.Now()
		f()
		least = min(least, time.Since(t0))
	}
	return float64(least.Nanoseconds()) / float64(len(doc))
}

var byteScanSink int

// byteScan is the baseline: one pass over the bytes doing the least a
// parser must (find each '<').
func byteScan(doc []byte) int {
	n := 0
	for _, c := range doc {
		if c == '<' {
			n++
		}
	}
	return n
}

// TestExclusiveC14NFanout: exclusive c14n renders a namespace on every
// element that uses it when no output ancestor did, so one long URI
// declared on an element that does not use it is written again for each
// child. A hostile request with the exc-c14n transform (its signature
// need not verify: the canonical form is made before the digest check)
// must not turn that into memory: it is refused MALFORMED once the
// rendered declarations outgrow the document, and Parse+Verify allocates
// at most maxHostileAlloc times the document's size.
func TestExclusiveC14NFanout(t *testing.T) {
	key, cert := testCert(t)
	var b strings.Builder
	b.WriteString(`<r xmlns:p="urn:` + strings.Repeat("x", 64<<10) + `">`)
	for range 2000 {
		b.WriteString("<p:e/>")
	}
	b.WriteString("</r>")
	signed, err := Sign([]byte(b.String()), key, cert, SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	enveloped := `<ds:Transform Algorithm="` + AlgEnveloped + `"/>`
	doc := []byte(strings.Replace(string(signed), enveloped, enveloped+`<ds:Transform Algorithm="`+AlgExcC14N+`"/>`, 1))
	n := allocated(func() { err = parseVerify(doc, DefaultLimits(), &key.PublicKey) })
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "namespace declarations") {
		t.Errorf("Parse+Verify: %v, want MALFORMED naming the namespace declarations", err)
	}
	if x := float64(n) / float64(len(doc)); x > maxHostileAlloc {
		t.Errorf("Parse+Verify of %d bytes allocated %d bytes, %.0fx its size, want at most %dx", len(doc), n, x, maxHostileAlloc)
	}
}
