package otlpmap

import (
	"encoding/json"
	"math"
	"testing"
)

// checkAppendJSON fails t unless appendJSON writes v as encoding/json does,
// or, where Marshal refuses v, reports false; and unless jsonText, which
// falls back to Marshal for other types, gives Marshal's text.
func checkAppendJSON(t *testing.T, v any, supported bool) {
	t.Helper()
	want, err := json.Marshal(v)
	if err != nil {
		want = nil
	}
	if got := jsonText(v); got != string(want) {
		t.Fatalf("jsonText(%#v) = %s, json.Marshal = %s", v, got, want)
	}
	if !supported {
		return
	}
	got, ok := appendJSON(nil, v)
	if ok != (err == nil) {
		t.Fatalf("appendJSON(%#v) ok = %v, json.Marshal error %v", v, ok, err)
	}
	if ok && string(got) != string(want) {
		t.Fatalf("appendJSON(%#v) = %s, json.Marshal = %s", v, got, want)
	}
}

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	for _, v := range []any{
		nil, true, false, int64(0), int64(math.MinInt64), int64(math.MaxInt64),
		0.0, math.Copysign(0, -1), 1.5, -2.25e-7, 1e-6, 9.99e-7, 1e20, 1e21, 123456789e30, math.MaxFloat64, math.SmallestNonzeroFloat64,
		math.NaN(), math.Inf(1), math.Inf(-1),
		"", "plain", "<b>&amp;</b>", "quote \" backslash \\ slash /", "\b\f\n\r\t\x00\x1f\x7f", "\u2028\u2029 é 😀",
		"bad \xff utf8 \xed\xa0\x80", "\uFFFD",
		[]any(nil), []any{}, []any{nil, 1.0, "x", []any{}}, map[string]any(nil), map[string]any{},
		map[string]any{"b": 1.0, "a": []any{map[string]any{"z": nil, "<": "&"}}, "": "empty", "k\xff": 2.0},
		[]any{1.0, math.NaN()}, map[string]any{"x": math.Inf(1)},
	} {
		checkAppendJSON(t, v, true)
	}
	// Types native and parseJSON never build are left to encoding/json.
	checkAppendJSON(t, []any{int32(1), []string{"<"}}, false)
}

// FuzzAppendJSON holds appendJSON, which writes the untrusted text of span
// attributes into metadata, to encoding/json on values decoded from
// arbitrary JSON and on arbitrary strings and numbers.
func FuzzAppendJSON(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add(s, s, int64(len(s)), float64(len(s))*1.1e-7)
	}
	f.Add(`{"a":[1,2.5e30]}`, "bad \xff <&> \u2028", int64(math.MinInt64), math.Inf(-1))
	f.Fuzz(func(t *testing.T, doc, s string, n int64, x float64) {
		if v, ok := referenceParseJSON(doc); ok {
			checkAppendJSON(t, v, true)
		}
		checkAppendJSON(t, []any{s, n, x, map[string]any{s: x, doc: []any{n, s}}}, true)
	})
}
