package ra

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// noDuplicateKeysTokens is the encoding/json Token-based check that
// noDuplicateKeys replaced (it copies every string value); kept as the
// oracle the scanner must agree with.
func noDuplicateKeysTokens(data []byte) error {
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

func TestNoDuplicateKeys(t *testing.T) {
	t.Parallel()
	for _, tt := range dupCases {
		got := noDuplicateKeys([]byte(tt.in)) != nil
		if got != tt.dup {
			t.Errorf("noDuplicateKeys(%s) refused=%v, want %v", tt.in, got, tt.dup)
		}
		if oracle := noDuplicateKeysTokens([]byte(tt.in)) != nil; oracle != tt.dup {
			t.Errorf("oracle(%s) refused=%v, want %v", tt.in, oracle, tt.dup)
		}
	}
	for _, bad := range []string{`{"a":1`, `{"a":"x}`, `[}`, `{]`, `}`} {
		if noDuplicateKeys([]byte(bad)) == nil {
			t.Errorf("noDuplicateKeys(%s) accepted broken JSON", bad)
		}
	}
}

// FuzzNoDuplicateKeys: on every input that decodes as JSON, the scanner
// and the Token-based oracle agree.
func FuzzNoDuplicateKeys(f *testing.F) {
	for _, tt := range dupCases {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) {
			return
		}
		got, want := noDuplicateKeys(data), noDuplicateKeysTokens(data)
		if (got == nil) != (want == nil) {
			t.Fatalf("%q: scanner %v, oracle %v", data, got, want)
		}
	})
}

// BenchmarkNoDuplicateKeys checks a device-import-shaped body (one large
// string member) with the scanner and with the Token-based oracle, and
// reports bytes allocated per byte of body for each.
func BenchmarkNoDuplicateKeys(b *testing.B) {
	var sb strings.Builder
	for i := 0; sb.Len() < 8<<20; i++ {
		fmt.Fprintf(&sb, "90-B3-D5-1F-30-%02X-%02X-%02X,90-B3-D5-1F-30-01-00-00,2\n", i>>16&0xff, i>>8&0xff, i&0xff)
	}
	body, err := json.Marshal(map[string]string{"csv": sb.String()})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		fn   func([]byte) error
	}{{"scanner", noDuplicateKeys}, {"tokens", noDuplicateKeysTokens}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if err := c.fn(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
