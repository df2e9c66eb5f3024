package otlpmap

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// referenceParseJSON is what parseJSON replaced: encoding/json, then a
// walk refusing values nested deeper than maxDepth.
func referenceParseJSON(s string) (any, bool) {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, false
	}
	var tooDeep func(v any, depth int) bool
	tooDeep = func(v any, depth int) bool {
		if depth > maxDepth {
			return true
		}
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				if tooDeep(e, depth+1) {
					return true
				}
			}
		case map[string]any:
			for _, e := range x {
				if tooDeep(e, depth+1) {
					return true
				}
			}
		}
		return false
	}
	if tooDeep(v, 0) {
		return nil, false
	}
	return v, true
}

// jsonSeeds are documents at the edges of the grammar and of what
// encoding/json repairs.
var jsonSeeds = []string{
	``, ` `, `null`, `true`, `false`, `nul`, `truex`, `0`, `-0`, `01`, `-`, `1.`, `.5`, `+1`, `1e`, `1e+`, `1E-2`,
	`1.5e300`, `1e400`, `-1e400`, `1e-400`, `123456789012345678901234567890`, ` [1, 2 ,3 ] `, `[1,]`, `[,1]`, `[`,
	`]`, `{}`, `[]`, `{"a":1,"a":2}`, `{"a" : [ {"b":null} ] }`, `{"a":1,}`, `{a:1}`, `{"a"}`, `{"a":}`, `"x" "y"`,
	`"\"\\\/\b\f\n\r\t"`, `"\u00e9\u20AC"`, `"\ud83d\ude00"`, `"\ud83d"`, `"\ude00"`, `"\ud83dx"`, `"\ud83d\u0041"`,
	`"\ud83d\ud83d\ude00"`, `"\u12"`, `"\x"`, `"\'"`, "\"tab\there\"", "\"\x7f\"", "\"bad \xff utf8\"",
	"\"\xed\xa0\x80\"", "\"mixed \xff \\n\"", `"unterminated`, `"\`, "[\"a\"]\n", "\ufeff{}", "{\"k\xff\":1}",
	`"<b>&amp;</b> \u2028"`, `{"role":"user","parts":[{"type":"text","content":"hi"}]}`,
	strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth),
	strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1),
	strings.Repeat("[", maxDepth) + "1" + strings.Repeat("]", maxDepth),
	strings.Repeat(`{"a":`, maxDepth) + "1" + strings.Repeat("}", maxDepth),
	strings.Repeat(`{"a":`, maxDepth+1) + "1" + strings.Repeat("}", maxDepth+1),
	strings.Repeat("[", maxDepth+1) + "x",
}

func TestParseJSONMatchesEncodingJSON(t *testing.T) {
	for _, s := range jsonSeeds {
		got, gotOK := parseJSON(s)
		want, wantOK := referenceParseJSON(s)
		if gotOK != wantOK || !reflect.DeepEqual(got, want) {
			t.Errorf("parseJSON(%q) = %#v, %v; encoding/json gives %#v, %v", s, got, gotOK, want, wantOK)
		}
	}
}

// FuzzParseJSON holds parseJSON, which reads the untrusted text of span
// attributes, to encoding/json's reading of the same text.
func FuzzParseJSON(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, gotOK := parseJSON(s)
		want, wantOK := referenceParseJSON(s)
		if gotOK != wantOK || !reflect.DeepEqual(got, want) {
			t.Fatalf("parseJSON(%q) = %#v, %v; encoding/json gives %#v, %v", s, got, gotOK, want, wantOK)
		}
	})
}
