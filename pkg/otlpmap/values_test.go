package otlpmap_test

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

// jsonOf is the compact JSON of v, "" for nil.
func jsonOf(t *testing.T, v *structpb.Value) string {
	t.Helper()
	if v == nil {
		return ""
	}
	raw, err := protojson.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestStructuredValues(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"string", "s", `"s"`},
		{"int", 5, `5`},
		{"double", 1.5, `1.5`},
		{"NaN cannot be a JSON number", math.NaN(), `"NaN"`},
		{"infinity", math.Inf(-1), `"-Inf"`},
		{"bool", false, `false`},
		{"bytes", []byte("hi"), `"aGk="`},
		{"empty value", nil, `null`},
		{"array", []any{1, "a", []any{true}}, `[1,"a",[true]]`},
		{"map", map[string]any{"a": map[string]any{"b": 2}}, `{"a":{"b":2}}`},
		{"JSON object text", `{"x": [1, 2]}`, `{"x":[1,2]}`},
		{"JSON scalar text stays text", `42`, `"42"`},
		{"broken JSON stays text", `{"x":`, `"{\"x\":"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := observation(t, mapOK(t, request(nil, rootSpan(map[string]any{"agenttrace.observation.input": tt.v}))), rootHex)
			if tt.v == nil {
				// An empty value is no value: nothing is chosen.
				if o.GetInput() != nil {
					t.Errorf("input = %s, want none", jsonOf(t, o.GetInput()))
				}
				return
			}
			if got := jsonOf(t, o.GetInput()); got != tt.want {
				t.Errorf("input = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestDeepStructuredValuesAreCut(t *testing.T) {
	v := any("leaf")
	for range 40 {
		v = []any{v}
	}
	o := observation(t, mapOK(t, request(nil, rootSpan(map[string]any{"agenttrace.observation.input": v}))), rootHex)
	got := jsonOf(t, o.GetInput())
	if !bytes.Contains([]byte(got), []byte(`"…(nested too deep)"`)) || bytes.Contains([]byte(got), []byte("leaf")) {
		t.Errorf("deep value = %s", got)
	}
}
