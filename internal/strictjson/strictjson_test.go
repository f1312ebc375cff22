package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/smki/smki/internal/librarytext"
)

type inner struct {
	X int `json:"x"`
}

type base struct {
	Shared string `json:"shared"`
}

type doc struct {
	base
	Serial  string            `json:"serial"`
	Count   int               `json:"count,omitempty"`
	Untag   bool              // encoding/json names it "Untag"
	Skip    string            `json:"-"`
	Items   []inner           `json:"items"`
	ByName  map[string]inner  `json:"by_name"`
	Ptr     *inner            `json:"ptr"`
	Any     any               `json:"any"`
	Raw     json.RawMessage   `json:"raw"`
	Text    textID            `json:"text"`
	Fixed   [2]inner          `json:"fixed"`
	Strings map[string]string `json:"strings"`
	//lint:ignore U1000 an unexported field, which Decode must leave alone
	private int
}

// textID reads itself from a JSON string, as eui64.ID does.
type textID string

func (t *textID) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		return errors.New("empty ID")
	}
	*t = textID(b)
	return nil
}

// TestDecode is the one table of what every strict JSON reader in smki
// accepts and refuses: the RA's request bodies and ADT files, the
// eligibility policy, the bundle and feed envelopes.
func TestDecode(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		in   string
		want string // "" accepts; else a substring of the error
	}{
		{"empty object", `{}`, ""},
		{"every field", `{"shared":"s","serial":"A","count":2,"Untag":true,"items":[{"x":1},{"x":2}],"by_name":{"a":{"x":1}},"ptr":{"x":3},"any":{"Q":1,"q ":2},"raw":{"R":1},"text":"id","fixed":[{"x":1},{"x":2}],"strings":{"a":"b"}}`, ""},
		{"whitespace around", " \n{ \"serial\" : \"A\" }\t\n", ""},
		{"null members", `{"ptr":null,"items":null,"any":null}`, ""},
		{"escaped member name", `{"ser\u0069al":"A"}`, ""},
		{"same name in sibling objects", `{"items":[{"x":1},{"x":2}],"ptr":{"x":1}}`, ""},
		{"names as string values", `{"serial":"serial","strings":{"a":"{\"a\":1,\"a\":2}"}}`, ""},

		{"duplicate member", `{"serial":"A","serial":"B"}`, `member "serial" appears twice`},
		{"duplicate member escaped", `{"serial":"A","s\u0065rial":"B"}`, `appears twice`},
		{"duplicate in array element", `{"items":[{"x":1,"x":2}]}`, `member "x" appears twice`},
		{"duplicate map key", `{"strings":{"a":"1","a":"2"}}`, `appears twice`},
		{"duplicate in untyped value", `{"any":{"k":1,"k":2}}`, `appears twice`},
		{"duplicate in raw value", `{"raw":{"k":1,"k":2}}`, `appears twice`},

		{"case variant of a field", `{"serial":"A","Serial":"B"}`, `member "Serial" appears twice`},
		{"field in the wrong case alone", `{"SERIAL":"A"}`, `must be spelled "serial"`},
		{"untagged field in the wrong case", `{"untag":true}`, `must be spelled "Untag"`},
		{"case variant map keys", `{"strings":{"a":"1","A":"2"}}`, `appears twice`},
		{"case variant untyped", `{"any":{"k":1,"K":2}}`, `appears twice`},
		{"KELVIN SIGN folds to K", `{"any":{"k":1,"\u212a":2}}`, `appears twice`},
		{"LONG S folds to S", `{"any":{"s":1,"\u017f":2}}`, `appears twice`},

		{"unknown member", `{"serial":"A","admin":true}`, `unknown member "admin"`},
		{"unknown member nested", `{"items":[{"x":1,"y":2}]}`, `unknown member "y"`},
		{"unknown member behind a pointer", `{"ptr":{"z":1}}`, `unknown member "z"`},
		{"ignored field by name", `{"Skip":"x"}`, `unknown member "Skip"`},
		{"unexported field by name", `{"private":1}`, `unknown member "private"`},

		{"trailing object", `{"serial":"A"} {}`, `data after the JSON value`},
		{"trailing garbage", `{"serial":"A"}x`, `data after the JSON value`},
		{"two values", `{}{}`, `data after the JSON value`},

		{"invalid UTF-8 in a value", "{\"serial\":\"A\xff\"}", `not valid UTF-8 at line 1, column 13`},
		{"invalid UTF-8 in a name", "{\"s\xc0\":1}", `not valid UTF-8`},
		{"surrogate half as UTF-8", "{\"serial\":\"\xed\xa0\x80\"}", `not valid UTF-8`},

		{"empty input", ``, `no JSON value`},
		{"cut short", `{"serial":"A"`, `not JSON`},
		{"not JSON", `serial=A`, `not JSON`},
		{"wrong type", `{"count":"2"}`, `member "count": a JSON string is not allowed here`},
		{"wrong top-level type", `[]`, `a JSON array is not allowed here`},
		{"custom reader refuses", `{"text":""}`, `empty ID`},
		{"too deep", `{"any":` + strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth) + `}`, `nested deeper than 64`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var d doc
			err := Decode([]byte(tt.in), &d)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && err == nil:
				t.Fatalf("accepted, want an error containing %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Fatalf("error %q, want it to contain %q", err, tt.want)
			case err != nil && strings.Contains(err.Error(), "json:"):
				t.Fatalf("error %q shows encoding/json's text", err)
			}
		})
	}
}

func TestDecodeFills(t *testing.T) {
	t.Parallel()
	var d doc
	if err := Decode([]byte(`{"shared":"s","serial":"A","items":[{"x":7}],"by_name":{"k":{"x":8}},"text":"id"}`), &d); err != nil {
		t.Fatal(err)
	}
	if d.Shared != "s" || d.Serial != "A" || len(d.Items) != 1 || d.Items[0].X != 7 || d.ByName["k"].X != 8 || d.Text != "id" {
		t.Fatalf("decoded %+v", d)
	}
	if err := Decode([]byte(`{}`), d); err == nil {
		t.Fatal("Decode into a non-pointer succeeded")
	}
}

// dupCases are the duplicate-member cases the RA's scanner was built on;
// decoded into an interface, where no field names apply, only the
// duplicate rule decides.
var dupCases = []struct {
	in  string
	dup bool
}{
	{`{}`, false},
	{`[]`, false},
	{`{"a":1,"b":2}`, false},
	{`{"a":1,"a":2}`, true},
	{`{"serial":"A","Serial":"B"}`, true},
	{`{"k":1,"\u212a":2}`, true}, // KELVIN SIGN folds to K
	{`{"s":1,"\u017f":2}`, true}, // LONG S folds to S
	{`{"a\"b":1,"a\u0022b":2}`, true},
	{`{"a":{"a":1},"b":{"a":2}}`, false},
	{`{"a":[{"x":1},{"x":2}]}`, false},
	{`{"a":[{"x":1,"x":2}]}`, true},
	{`{"a":"{\"a\":1,\"a\":2}"}`, false}, // a string value is not an object
	{`{"a":"b","b":"a"}`, false},
	{`[{"a":1},{"a":1}]`, false},
	{`{"1":1,"2":2,"3":3,"4":4,"5":5,"6":6,"7":7,"8":8,"9":9,"10":10,"1":0}`, true},
	{`{"1":1,"2":2,"3":3,"4":4,"5":5,"6":6,"7":7,"8":8,"9":9,"10":10,"11":11}`, false},
	{` { "a" : [ 1 , true , null , "x" ] , "A" : 2 } `, true},
}

// duplicateKeysTokens is an encoding/json Token-based duplicate check
// (it copies every string value): the oracle the scanner must agree with.
func duplicateKeysTokens(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	type frame struct {
		obj     bool
		keys    map[string]bool
		wantKey bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.obj && top.wantKey {
			if k, ok := tok.(string); ok {
				f := foldKey(k)
				if top.keys[f] {
					return fmt.Errorf("member %q appears twice in one object", k)
				}
				top.keys[f] = true
				top.wantKey = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{obj: true, keys: map[string]bool{}, wantKey: true})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		// A value (scalar or a closed container) completes a member.
		if len(stack) > 0 && stack[len(stack)-1].obj {
			stack[len(stack)-1].wantKey = true
		}
	}
}

func TestDuplicateMembers(t *testing.T) {
	t.Parallel()
	for _, tt := range dupCases {
		var v any
		if got := Decode([]byte(tt.in), &v) != nil; got != tt.dup {
			t.Errorf("Decode(%s) refused=%v, want %v", tt.in, got, tt.dup)
		}
		if oracle := duplicateKeysTokens([]byte(tt.in)) != nil; oracle != tt.dup {
			t.Errorf("oracle(%s) refused=%v, want %v", tt.in, oracle, tt.dup)
		}
	}
}

// FuzzDuplicateMembers: on every UTF-8 input that is one JSON value within
// MaxDepth and that encoding/json itself decodes into an interface (it
// refuses a number out of float64's range, which Decode refuses too, for
// that reason and not for a duplicate), Decode into an interface and the
// Token-based oracle agree.
func FuzzDuplicateMembers(f *testing.F) {
	for _, tt := range dupCases {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) || !utf8.Valid(data) || depth(data) > MaxDepth || json.Unmarshal(data, new(any)) != nil {
			return
		}
		var v any
		got, want := Decode(data, &v), duplicateKeysTokens(data)
		if (got == nil) != (want == nil) {
			t.Fatalf("%q: Decode %v, oracle %v", data, got, want)
		}
	})
}

// depth is the deepest nesting in valid JSON data.
func depth(data []byte) int {
	dec := json.NewDecoder(bytes.NewReader(data))
	d, maxD := 0, 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return maxD
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			d++
			maxD = max(maxD, d)
		case json.Delim('}'), json.Delim(']'):
			d--
		}
	}
}

// BenchmarkDecode decodes a device-import-shaped body (one large string
// member) strictly and with plain encoding/json, and reports the strict
// reader's time as a ratio of the plain one (strict/plain).
func BenchmarkDecode(b *testing.B) {
	var sb strings.Builder
	for i := 0; sb.Len() < 8<<20; i++ {
		fmt.Fprintf(&sb, "90-B3-D5-1F-30-%02X-%02X-%02X,90-B3-D5-1F-30-01-00-00,2\n", i>>16&0xff, i>>8&0xff, i&0xff)
	}
	body, err := json.Marshal(map[string]string{"csv": sb.String()})
	if err != nil {
		b.Fatal(err)
	}
	type req struct {
		CSV string `json:"csv"`
	}
	run := func(n int, fn func() error) float64 {
		var best float64
		for range 3 {
			start := time.Now()
			for range n {
				if err := fn(); err != nil {
					b.Fatal(err)
				}
			}
			if el := float64(time.Since(start)); best == 0 || el < best {
				best = el
			}
		}
		return best
	}
	plain := func() error { var r req; return json.Unmarshal(body, &r) }
	strict := func() error { var r req; return Decode(body, &r) }
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := strict(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(run(3, strict)/run(3, plain), "strict/plain")
}

// TestErrorsInOwnWords: what is not JSON is said in smki's words, with
// where, never encoding/json's text ("invalid character 'b' looking for
// beginning of value"), which every caller would pass on to a user (an ADT
// file, a device file, a request body).
func TestErrorsInOwnWords(t *testing.T) {
	t.Parallel()
	var v struct {
		A int `json:"a"`
	}
	for _, tt := range []struct{ in, want string }{
		{`{b`, `not JSON (unexpected "b" at line 1, column 2)`},
		{`bad`, `not JSON (unexpected "b" at line 1, column 1)`},
		{`{"a": 1,}`, `not JSON (unexpected "}" at line 1, column 9)`},
		{`{"a" 1}`, `not JSON (unexpected "1" at line 1, column 6)`},
		{"{\n  \"a\": 1,\n}", `not JSON (unexpected "}" at line 3, column 1)`},
	} {
		err := Decode([]byte(tt.in), &v)
		if err == nil || err.Error() != tt.want || librarytext.Find(err.Error()) != "" {
			t.Errorf("Decode(%q) = %v, want %q", tt.in, err, tt.want)
		}
	}
}

// TestPositionsAreLineAndColumn: every position an error gives is a line
// and a column in characters, both from 1, at the start of what is
// wrong (the files this reads are written by hand over many lines).
func TestPositionsAreLineAndColumn(t *testing.T) {
	t.Parallel()
	var v struct {
		A int      `json:"a"`
		S string   `json:"s"`
		L []int    `json:"l"`
		O struct{} `json:"o"`
	}
	for _, tt := range []struct{ in, want string }{
		{"{\n\"s\": \"é\" \"a\": 1}", `unexpected "\"" at line 2, column 10`},
		{"{\"a\": 1}\n\n  {}", `data after the JSON value at line 3, column 3`},
		{"{\n \"a\": 1,\n \"A\": 2}", `member "A" appears twice in one object at line 3, column 2`},
		{"{\n \"b\": 1}", `unknown member "b" at line 2, column 2`},
		{"{\"a\":\n   \"x\\\"y\"}", `member "a": a JSON string is not allowed here (at line 2, column 4)`},
		{"{\"a\": -12.5e3}", `member "a": a JSON number -12.5e3 is not allowed here (at line 1, column 7)`},
		{"{\"s\": [1]}", `member "s": a JSON array is not allowed here (at line 1, column 7)`},
		{"{\"l\": [1, {\"x\": 1}]}", `member "l": a JSON object is not allowed here (at line 1, column 11)`},
		{"{\"o\":\ttrue}", `member "o": a JSON bool is not allowed here (at line 1, column 7)`},
		{"{\"s\": \"\xff\"}", `not valid UTF-8 at line 1, column 8`},
	} {
		err := Decode([]byte(tt.in), &v)
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "offset") {
			t.Errorf("Decode(%q) = %v, want it to contain %q", tt.in, err, tt.want)
		}
	}
}

// TestDecodeAllocatesWhatItReturns: the strict reader allocates little
// more than the value it returns, however large the input: a verifier
// opening a bundle of a million devices (119 MB) reads it twice (envelope
// and payload). It used to copy its input through a json.Decoder's
// growing buffer, and encoding/json grows a long list by doubling (a
// million devices: 1.25 GB allocated for it). Not parallel: it reads the
// process's allocation counters.
func TestDecodeAllocatesWhatItReturns(t *testing.T) {
	type device struct {
		Device   string `json:"device"`
		Supplier string `json:"supplier_user"`
		SMETS    int    `json:"smets"`
	}
	type doc struct {
		Version int      `json:"version"`
		Devices []device `json:"devices"`
		Empty   []device `json:"empty"`
	}
	want := doc{Version: 1, Empty: []device{}}
	for i := range 100_000 {
		want.Devices = append(want.Devices, device{fmt.Sprintf("00-DB-12-34-56-%02X-%02X-%02X", i>>16&0xff, i>>8&0xff, i&0xff), "90-B3-D5-1F-30-01-00-00", 1 + i%2})
	}
	data, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	allocated := func(fn func() error) uint64 {
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		if err := fn(); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&m1)
		return m1.TotalAlloc - m0.TotalAlloc
	}
	// The least encoding/json itself allocates for data: into lists
	// already of their final size.
	least := allocated(func() error {
		v := doc{Devices: make([]device, 0, len(want.Devices))}
		return json.Unmarshal(data, &v)
	})
	var got doc
	strict := allocated(func() error { return Decode(data, &got) })
	// scan's own frames and the odd name are small; a tenth of the
	// input bounds them with room.
	if limit := least + uint64(len(data))/10; strict > limit {
		t.Errorf("Decode of %d bytes allocated %d bytes, json.Unmarshal into a list of the right size %d: want at most %d", len(data), strict, least, limit)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Decode filled the devices otherwise than encoding/json would")
	}
}

// FuzzScanRefusesUnknownMembers holds scan to encoding/json's own
// DisallowUnknownFields, which Decode no longer runs (it copied every
// input into a growing buffer): on every input a json.Decoder with
// DisallowUnknownFields refuses for an unknown field, Decode refuses too;
// and where both accept, they fill doc alike.
func FuzzScanRefusesUnknownMembers(f *testing.F) {
	for _, tt := range []string{
		`{"serial":"A","items":[{"x":1}],"by_name":{"k":{"x":2}},"ptr":{"x":3},"fixed":[{"x":1},{"x":2}]}`,
		`{"serial":"A","nope":1}`,
		`{"items":[{"x":1,"y":2}]}`,
		`{"by_name":{"k":{"z":1}}}`,
		`{"ptr":{"x":1,"w":0}}`,
		`{"shared":"s","Untag":true,"text":"t","any":{"free":1},"raw":{"free":2}}`,
		`{"Skip":"s"}`,
		`{"private":1}`,
		`{"fixed":[{"x":1},{"q":2}]}`,
		`{"strings":{"a":"b"}}`,
	} {
		f.Add([]byte(tt))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) || !utf8.Valid(data) || depth(data) > MaxDepth {
			return
		}
		var viaDecoder doc
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		derr := dec.Decode(&viaDecoder)
		var strict doc
		serr := Decode(data, &strict)
		if derr != nil && strings.Contains(derr.Error(), "unknown field") && serr == nil {
			t.Fatalf("%q: encoding/json refuses (%v), Decode accepts", data, derr)
		}
		if derr == nil && serr == nil {
			a, _ := json.Marshal(viaDecoder)
			b, _ := json.Marshal(strict)
			if !bytes.Equal(a, b) {
				t.Fatalf("%q: encoding/json fills %s, Decode %s", data, a, b)
			}
		}
	})
}

// TestScanSizesTopLevelLists: scan counts the elements of each long list
// that is the value of a member of the top-level object, whatever the
// elements are, so that Decode makes the slice at its final size; an
// element miscounted would only cost memory, never change what is decoded,
// but the sizes must be right for the allocation to be saved.
func TestScanSizesTopLevelLists(t *testing.T) {
	t.Parallel()
	type target struct {
		Items []any `json:"items"`
		Inner struct {
			Items []any `json:"items"`
		} `json:"inner"`
	}
	const n = presize + 7
	for _, elem := range []string{`1`, `-1.5E+3`, `0.25e-2`, `true`, `false`, `null`, `"a,b]"`, `"x\"y"`, `{"x":[1,2,3]}`, `[1,[2,3]]`, ` 7 `, "\n\"s\"\t", `[]`, `{}`} {
		elems := make([]string, n)
		for i := range elems {
			elems[i] = elem
		}
		data := []byte(`{"inner":{"items":[` + strings.Join(elems[:presize+1], ",") + `]}, "items" : [ ` + strings.Join(elems, " , ") + ` ]}`)
		if !json.Valid(data) {
			t.Fatalf("%s: test document not JSON", elem)
		}
		sizes, err := scan(data, reflect.TypeFor[target]())
		if err != nil {
			t.Fatalf("%s: %v", elem, err)
		}
		if !reflect.DeepEqual(sizes, map[string]int{"items": n}) {
			t.Errorf("lists of %s: sizes %v, want items: %d (and nothing for the nested list)", elem, sizes, n)
		}
		var v target
		if err := Decode(data, &v); err != nil || len(v.Items) != n || cap(v.Items) != n {
			t.Errorf("lists of %s: Decode %v, len %d cap %d, want %d", elem, err, len(v.Items), cap(v.Items), n)
		}
	}
	short, err := scan([]byte(`{"items":[1,2,3]}`), reflect.TypeFor[target]())
	if err != nil || short != nil {
		t.Errorf("a short list: sizes %v %v, want none (not worth sizing)", short, err)
	}
}

// TestDecodeBadBase64InOwnWords: a []byte member that is not base64 (a
// signed envelope's payload, signature or chain) is refused in this
// package's words, not encoding/base64's "illegal base64 data at input
// byte N", which reached smki verify's users through bundle.Open.
func TestDecodeBadBase64InOwnWords(t *testing.T) {
	t.Parallel()
	var v struct {
		B []byte `json:"b"`
	}
	err := Decode([]byte(`{"b":"!!"}`), &v)
	if err == nil || librarytext.Find(err.Error()) != "" || !strings.Contains(err.Error(), "base64") {
		t.Fatalf("Decode = %v; want a refusal naming base64 in smki's words", err)
	}
}
