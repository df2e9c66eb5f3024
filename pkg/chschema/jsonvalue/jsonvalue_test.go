package jsonvalue

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// reference decodes with protojson, the behaviour Parse must match.
func reference(text string) (*structpb.Value, error) {
	v := &structpb.Value{}
	if err := protojson.Unmarshal([]byte(text), v); err != nil {
		return nil, err
	}
	return v, nil
}

// agree fails the test unless Parse and protojson both refuse text or both
// accept it with equal results.
func agree(t *testing.T, text string) {
	t.Helper()
	got, err := Parse(text)
	want, wantErr := reference(text)
	switch {
	case (err != nil) != (wantErr != nil):
		t.Fatalf("Parse(%.80q) error = %v, protojson error = %v", text, err, wantErr)
	case err == nil && !proto.Equal(got, want):
		t.Fatalf("Parse(%.80q)\n got %v\nwant %v", text, got, want)
	}
}

var seeds = []string{
	// accepted
	`null`, `true`, `false`, `0`, `-0`, `12.5e-3`, `1E+2`, `-1.0e10`, `1e-400`, `123456789012345678901234567890`,
	`""`, `"plain"`, `"esc \" \\ \/ \b \f \n \r \t"`, `"\u00e9\u20AC \ud83d\ude00 \u0000"`, `"héllo wörld 😀"`,
	`{}`, `[]`, ` { "a" : [1, "x", {"b": null}] , "c": {} } `, `[[], [[]], {"": ""}]`, "\t\r\n[1]\n",
	`{"prompt":"question number 7, with some context"}`,
	// refused
	``, ` `, `nul`, `nullx`, `truee`, `01`, `1.`, `.5`, `+1`, `1e`, `1e+`, `-`, `1x`, `1e309`, `-1e309`, `NaN`,
	`"unterminated`, `"bad \x escape"`, `"\u12"`, `"\u12G4"`, `"\ud800"`, `"\ud800\u0041"`, `"\udc00\udc00"`,
	"\"ctl \x01\"", "\"bad utf8 \xff\"", "\"esc then bad \\n \xc3\"", `{"a":1,"a":2}`, `{"a" 1}`, `{"a":1,}`,
	`{a:1}`, `[1,]`, `[1 2]`, `[`, `{`, `]`, `1 2`, `[1]]`, `{"a":1}}`, `"x"y`, "\xef\xbb\xbf1",
}

func TestParseAgreesWithProtojson(t *testing.T) {
	for _, text := range seeds {
		t.Run(fmt.Sprintf("%.30q", text), func(t *testing.T) { agree(t, text) })
	}
}

// TestParseDepthLimit pins the nesting limit at protojson's, on both sides
// of it, for arrays and objects.
func TestParseDepthLimit(t *testing.T) {
	for _, open := range []struct{ prefix, suffix string }{{"[", "]"}, {`{"k":`, "}"}} {
		for _, n := range []int{9998, 9999, 10000} {
			text := strings.Repeat(open.prefix, n) + "1" + strings.Repeat(open.suffix, n)
			t.Run(fmt.Sprintf("%s%d", open.prefix, n), func(t *testing.T) { agree(t, text) })
		}
	}
}

func TestParseSharesUnescapedStrings(t *testing.T) {
	text := `{"k":"value"}`
	v, err := Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	if s := v.GetStructValue().GetFields()["k"].GetStringValue(); s != "value" {
		t.Fatalf("k = %q", s)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) { agree(t, text) })
}

// anyDepth is the nesting limit ParseAny is tested with; encoding/json's
// own limit (10,000) is far above it.
const anyDepth = 8

// referenceAny decodes with encoding/json, refusing values nested deeper
// than anyDepth: the behaviour ParseAny must match.
func referenceAny(text string) (any, error) {
	var v any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		return nil, err
	}
	var tooDeep func(v any, depth int) bool
	tooDeep = func(v any, depth int) bool {
		if depth > anyDepth {
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
	if tooDeep(v, 1) {
		return nil, errDepth
	}
	return v, nil
}

// agreeAny fails the test unless ParseAny and encoding/json both refuse
// text or both accept it with deeply equal results.
func agreeAny(t *testing.T, text string) {
	t.Helper()
	got, err := ParseAny(text, anyDepth)
	want, wantErr := referenceAny(text)
	if (err != nil) != (wantErr != nil) || !reflect.DeepEqual(got, want) {
		t.Fatalf("ParseAny(%.80q) = %#v, %v; encoding/json gives %#v, %v", text, got, err, want, wantErr)
	}
}

// anySeeds are where encoding/json repairs what protojson refuses, and the
// edges of the depth limit.
var anySeeds = []string{
	`{"a":1,"a":2}`, `{"a":{"b":1},"a":[]}`, `"\ud83d"`, `"\ude00"`, `"\ud83dx"`, `"\ud83d\u0041"`,
	`"\ud83d\ud83d\ude00"`, `"\ud83d\u12"`, "\"bad \xff utf8\"", "\"\xed\xa0\x80\"", "\"mixed \xff \\n\"",
	"\"\\n then bad \xc3\"", "{\"k\xff\":1,\"k\xfe\":2}", `"<b>&amp;</b> \u2028"`,
	strings.Repeat("[", anyDepth) + strings.Repeat("]", anyDepth),
	strings.Repeat("[", anyDepth+1) + strings.Repeat("]", anyDepth+1),
	strings.Repeat("[", anyDepth-1) + "1" + strings.Repeat("]", anyDepth-1),
	strings.Repeat("[", anyDepth) + "1" + strings.Repeat("]", anyDepth),
	strings.Repeat(`{"a":`, anyDepth-1) + "1" + strings.Repeat("}", anyDepth-1),
	strings.Repeat(`{"a":`, anyDepth) + "1" + strings.Repeat("}", anyDepth),
}

func TestParseAnyAgreesWithEncodingJSON(t *testing.T) {
	for _, text := range slices.Concat(anySeeds, seeds) {
		t.Run(fmt.Sprintf("%.30q", text), func(t *testing.T) { agreeAny(t, text) })
	}
}

func FuzzParseAny(f *testing.F) {
	for _, s := range slices.Concat(anySeeds, seeds) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) { agreeAny(t, text) })
}

func BenchmarkParse(b *testing.B) {
	texts := map[string]string{
		"small": `{"prompt":"question number 7, with some context"}`,
		"chat": `{"messages":[{"role":"system","content":"You are a helpful assistant."},` +
			`{"role":"user","content":"` + strings.Repeat("Tell me about the weather in Paris. ", 40) + `"}],` +
			`"temperature":0.2,"max_tokens":512,"stream":false,"stop":null,"tags":["a","b","c"]}`,
	}
	for name, text := range texts {
		b.Run(name+"/jsonvalue", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(text); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/protojson", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := reference(text); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/any", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseAny(text, anyDepth); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/encoding_json", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := referenceAny(text); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
