package xmldsig

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/internal/cputime"
)

// attrDoc is an unsigned document of elements carrying perElem attributes
// each (hostileAttrs), total attributes in all.
func attrDoc(perElem, total int) []byte {
	var b strings.Builder
	b.WriteString(`<r>`)
	for range total / perElem {
		hostileAttrs(&b, Limits{MaxAttrs: perElem}, "", `""`)
	}
	b.WriteString(`</r>`)
	return []byte(b.String())
}

// scanCPU is the least thread CPU time of n scans of doc under lim.
func scanCPU(t testing.TB, doc []byte, lim Limits, n int) time.Duration {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	least := time.Duration(1<<63 - 1)
	for range n {
		t0 := cputime.Thread()
		if _, err := scan(doc, lim, false); err != nil {
			t.Fatal(err)
		}
		least = min(least, cputime.Thread()-t0)
	}
	return least
}

// maxAttrCostGrowth bounds the scan's time per attribute with 64
// attributes per element over its time with 8, at the same number of
// attributes in all. The per-element duplicate check and the attribute
// sort once compared every pair (insertion sort), so their time per
// attribute grew with the attributes per element: 64 per element cost
// 2.9 to 4.6 times as much per attribute as 8 (now about 1.1).
const maxAttrCostGrowth = 1.5

// TestAttrCostFlat: what the scan spends per attribute does not grow with
// the attributes per element (MaxAttrs): 64 per element cost at most
// maxAttrCostGrowth times as much per attribute as 8, over 64 Ki
// attributes either way.
func TestAttrCostFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("timing")
	}
	lim := MaxLimits()
	const total = 64 << 10
	few, many := attrDoc(8, total), attrDoc(64, total)
	var ratio float64
	for range 3 { // a busy machine may spoil one attempt
		f, m := scanCPU(t, few, lim, 7), scanCPU(t, many, lim, 7)
		ratio = float64(m) / float64(f)
		t.Logf("%d attributes: 8 per element %v (%.1f ns each), 64 per element %v (%.1f ns each): %.2fx",
			total, f, float64(f.Nanoseconds())/total, m, float64(m.Nanoseconds())/total, ratio)
		if ratio <= maxAttrCostGrowth {
			return
		}
	}
	t.Errorf("scan time per attribute with 64 attributes per element is %.2fx that with 8, want at most %.1fx", ratio, maxAttrCostGrowth)
}

// TestSortAttrsOrder: the keyed sort of many attributes gives the order of
// a stable sort by namespace URI then local name, for names that share
// their first seven bytes or more, several namespaces and a prefix of
// another name.
func TestSortAttrsOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	locals := []string{"a", "ab", "abcdefg", "abcdefgh", "abcdefgi", "abcdefghij", "b", "zz", "é", "A", "a-b", "a.c"}
	for n := range 200 {
		var b strings.Builder
		b.WriteString(`<r xmlns:p="urn:b" xmlns:q="urn:a" xmlns:s="urn:ab"><e`)
		seen := map[string]bool{}
		want := 9 + rng.IntN(56)
		for len(seen) < want {
			name := []string{"", "p:", "q:", "s:", "xml:"}[rng.IntN(5)] + locals[rng.IntN(len(locals))] + fmt.Sprint(rng.IntN(4))
			if !seen[name] {
				seen[name] = true
				b.WriteString(" " + name + `=""`)
			}
		}
		b.WriteString("/></r>")
		sc, err := scan([]byte(b.String()), MaxLimits(), false)
		if err != nil {
			t.Fatal(err)
		}
		e := &sc.toks[1]
		got := slices.Clone(sc.attrs[e.attrLo:e.attrHi])
		exp := slices.Clone(got)
		sc.sortAttrs(got)
		slices.SortStableFunc(exp, func(a, b attr) int {
			if sc.attrLess(&a, &b) {
				return -1
			}
			if sc.attrLess(&b, &a) {
				return 1
			}
			return 0
		})
		if !slices.Equal(got, exp) {
			t.Fatalf("case %d: order differs from a stable sort for %s", n, b.String())
		}
	}
}

// TestDuplicateAttrMany: the hashed duplicate check (more than smallAttrs
// attributes) refuses the same cases as the pairwise one, and names the
// first duplicate in document order.
func TestDuplicateAttrMany(t *testing.T) {
	many := func(extra string) string {
		var b strings.Builder
		b.WriteString(`<r xmlns:p="urn:p" xmlns:q="urn:p" xmlns:o="urn:o"><e`)
		for k := range 12 {
			fmt.Fprintf(&b, " a%d=\"\"", k)
		}
		b.WriteString(extra + "/></r>")
		return b.String()
	}
	for _, tc := range []struct{ name, extra, want string }{
		{"plain", ` a3=""`, `duplicate attribute "a3"`},
		{"first in document order", ` x="" a7="" x="" a2=""`, `duplicate attribute "a7"`},
		{"same prefix", ` p:x="" p:x=""`, `duplicate attribute "x"`},
		{"same namespace, other prefix", ` p:x="" q:x=""`, `duplicate attribute "x"`},
		{"other namespace", ` p:x="" o:x="" x=""`, ""},
		{"xml", ` xml:lang="" xml:lang=""`, `duplicate attribute "lang"`},
		{"undeclared before duplicate", ` z:y="" a1=""`, `undeclared prefix "z"`},
	} {
		_, err := scan([]byte(many(tc.extra)), MaxLimits(), false)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want MALFORMED %s", tc.name, err, tc.want)
		}
	}
}

// BenchmarkAttrsPerElement: the scan of 64 Ki attributes at 8, 16 and 64
// per element (MaxLimits). Metrics: "cpu-ns/attr" the thread's CPU time
// per attribute; "x-bytescan" the time per byte over a plain byte loop
// over the same document (byteScan, measured in the same run). Flat
// across the three is what TestAttrCostFlat asserts.
func BenchmarkAttrsPerElement(b *testing.B) {
	const total = 64 << 10
	for _, per := range []int{8, 16, 64} {
		b.Run(fmt.Sprint(per), func(b *testing.B) {
			doc := attrDoc(per, total)
			scanNs := perByte(doc, 20, func() { byteScanSink = byteScan(doc) })
			b.SetBytes(int64(len(doc)))
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			cpu := cputime.Thread()
			for b.Loop() {
				if _, err := scan(doc, MaxLimits(), false); err != nil {
					b.Fatal(err)
				}
			}
			cpu = cputime.Thread() - cpu
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/total, "cpu-ns/attr")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/float64(len(doc))/scanNs, "x-bytescan")
		})
	}
}
