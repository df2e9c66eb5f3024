package chschema

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/agenttrace/agenttrace/pkg/chschema/jsonvalue"
)

// referenceJSONText is what JSONText replaced, and what it must write:
// protojson, compacted.
func referenceJSONText(v *structpb.Value) (string, error) {
	if v == nil || v.GetKind() == nil {
		return "", nil
	}
	raw, err := protojson.Marshal(v)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// matchReference fails the test unless JSONText writes the reference's
// text, or fails with its error.
func matchReference(t *testing.T, v *structpb.Value) {
	t.Helper()
	got, err := JSONText(v)
	want, wantErr := referenceJSONText(v)
	if got != want || fmt.Sprint(err) != fmt.Sprint(wantErr) {
		t.Fatalf("JSONText(%v) = %q, %v; protojson+Compact gives %q, %v", v, got, err, want, wantErr)
	}
}

func list(values ...*structpb.Value) *structpb.Value {
	return &structpb.Value{Kind: &structpb.Value_ListValue{ListValue: &structpb.ListValue{Values: values}}}
}

func object(fields map[string]*structpb.Value) *structpb.Value {
	return &structpb.Value{Kind: &structpb.Value_StructValue{StructValue: &structpb.Struct{Fields: fields}}}
}

func TestJSONText(t *testing.T) {
	num := structpb.NewNumberValue
	str := structpb.NewStringValue
	tests := []struct {
		name    string
		v       *structpb.Value
		want    string
		wantErr bool
	}{
		{"absent", nil, "", false},
		{"no kind", &structpb.Value{}, "", false},
		{"null", structpb.NewNullValue(), "null", false},
		{"null of another number", &structpb.Value{Kind: &structpb.Value_NullValue{NullValue: 5}}, "null", false},
		{"bools", list(structpb.NewBoolValue(true), structpb.NewBoolValue(false)), "[true,false]", false},
		{"integers", list(num(0), num(math.Copysign(0, -1)), num(-2), num(1e20), num(1<<53+1)), "[0,-0,-2,100000000000000000000,9007199254740992]", false},
		{"fractions", list(num(1.5), num(0.1), num(123456789.125), num(1.0/3)), "[1.5,0.1,123456789.125,0.3333333333333333]", false},
		{"exponent edges", list(num(0.000001), num(9.99e-7), num(1e-7), num(-1e-100), num(1e21), num(-1.5e300)),
			"[0.000001,9.99e-7,1e-7,-1e-100,1e+21,-1.5e+300]", false},
		{"smallest and largest", list(num(math.SmallestNonzeroFloat64), num(math.MaxFloat64)), "[5e-324,1.7976931348623157e+308]", false},
		{"escaped", str("\"\\\b\f\n\r\t\x00\x01\x1f"), `"\"\\\b\f\n\r\t\u0000\u0001\u001f"`, false},
		{"not escaped", str("/ \x7f <b>&amp;</b> \u2028\u2029 \ufffd é 😀"), "\"/ \x7f <b>&amp;</b> \u2028\u2029 \ufffd é 😀\"", false},
		{"keys in byte order", object(map[string]*structpb.Value{
			"b": num(1), "a": num(2), "": num(3), "B": num(4), "é": num(5), "aa": num(6), "a\n": num(7),
		}), `{"":3,"B":4,"a":2,"a\n":7,"aa":6,"b":1,"é":5}`, false},
		{"nested", object(map[string]*structpb.Value{
			"messages": list(object(map[string]*structpb.Value{"role": str("user"), "content": str("hi")})),
			"n":        num(2),
		}), `{"messages":[{"content":"hi","role":"user"}],"n":2}`, false},
		{"empty", list(object(nil), list()), "[{},[]]", false},
		{"nil struct and list", list(&structpb.Value{Kind: &structpb.Value_StructValue{}}, &structpb.Value{Kind: &structpb.Value_ListValue{}}),
			"[{},[]]", false},
		{"many keys", object(map[string]*structpb.Value{
			"k0": num(0), "k1": num(1), "k2": num(2), "k3": num(3), "k4": num(4), "k5": num(5),
			"k6": num(6), "k7": num(7), "k8": num(8), "k9": num(9), "k10": num(10),
		}), `{"k0":0,"k1":1,"k10":10,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9}`, false},
		{"NaN", num(math.NaN()), "", true},
		{"infinity", num(math.Inf(1)), "", true},
		{"minus infinity in a list", list(num(1), num(math.Inf(-1))), "", true},
		{"invalid UTF-8", str("ok \xff"), "", true},
		{"surrogate half as UTF-8", str("\xed\xa0\x80"), "", true},
		{"invalid UTF-8 key", object(map[string]*structpb.Value{"k\xff": num(1)}), "", true},
		{"first of two errors", object(map[string]*structpb.Value{"b\xff": num(1), "a": num(math.NaN())}), "", true},
		{"nil element", list(nil), "", true},
		{"kindless element", list(&structpb.Value{}), "", true},
		{"nil field", object(map[string]*structpb.Value{"a": nil}), "", true},
		{"nil kind wrapper", &structpb.Value{Kind: (*structpb.Value_StringValue)(nil)}, "", true},
		{"nil kind wrapper inside", list(&structpb.Value{Kind: (*structpb.Value_StructValue)(nil)}), "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			matchReference(t, tt.v)
			if got, err := JSONText(tt.v); got != tt.want || (err != nil) != tt.wantErr {
				t.Fatalf("JSONText = %q, %v; want %q (error %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// valueGen builds a Value from fuzz bytes, reaching what JSON text cannot
// hold: any float64 (NaN, infinities, subnormals), strings of any bytes,
// and Values without a kind.
type valueGen struct{ data []byte }

func (g *valueGen) byte() byte {
	if len(g.data) == 0 {
		return 0
	}
	c := g.data[0]
	g.data = g.data[1:]
	return c
}

func (g *valueGen) bytes(n int) []byte {
	n = min(n, len(g.data))
	b := g.data[:n]
	g.data = g.data[n:]
	return b
}

func (g *valueGen) value(depth int) *structpb.Value {
	switch c := g.byte(); c % 16 {
	case 0:
		return structpb.NewNullValue()
	case 1:
		return &structpb.Value{Kind: &structpb.Value_NullValue{NullValue: structpb.NullValue(g.byte())}}
	case 2:
		return structpb.NewBoolValue(c&0x10 != 0)
	case 3:
		var raw [8]byte
		copy(raw[:], g.bytes(8))
		return structpb.NewNumberValue(math.Float64frombits(binary.LittleEndian.Uint64(raw[:])))
	case 4:
		// A short decimal at a power of ten, where the notation changes.
		return structpb.NewNumberValue(float64(int8(g.byte())) * math.Pow10(int(g.byte()%64)-32))
	case 5, 6, 7:
		return structpb.NewStringValue(string(g.bytes(int(g.byte() % 32))))
	case 8, 9:
		if depth > 4 {
			return structpb.NewNullValue()
		}
		fields := map[string]*structpb.Value{}
		for n := g.byte() % 6; n > 0; n-- {
			fields[string(g.bytes(int(g.byte()%4)))] = g.value(depth + 1)
		}
		return object(fields)
	case 10, 11:
		if depth > 4 {
			return structpb.NewNullValue()
		}
		var values []*structpb.Value
		for n := g.byte() % 6; n > 0; n-- {
			values = append(values, g.value(depth+1))
		}
		return list(values...)
	case 12:
		return &structpb.Value{Kind: &structpb.Value_StructValue{}}
	case 13:
		return &structpb.Value{Kind: &structpb.Value_ListValue{}}
	case 14:
		return &structpb.Value{}
	default:
		switch c >> 4 % 3 {
		case 0:
			return nil
		case 1:
			return &structpb.Value{Kind: (*structpb.Value_NumberValue)(nil)}
		default:
			return &structpb.Value{Kind: (*structpb.Value_ListValue)(nil)}
		}
	}
}

// FuzzJSONText holds JSONText to protojson+Compact on Values built from
// the fuzz bytes and, where they are JSON, on the Value they hold.
func FuzzJSONText(f *testing.F) {
	for _, s := range []string{
		"", "\x00", "\x03\x00\x00\x00\x00\x00\x00\xf8\x7f", "\x05\x04ab\xffc", "\x08\x03\x01a\x02\x01b\x04\x05\x03",
		"\x0a\x04\x0e\x0f\x0c\x0d", `{"b":[1,2.5e-7,"\u2028<&>"],"a":{"x":null,"y":true}}`, `"\u0000\u001f\"\\/"`,
		`[1e21,1e-6,-0,0.1,123456789012345678901234567890]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g := valueGen{data: data}
		matchReference(t, g.value(0))
		if v, err := jsonvalue.Parse(string(data)); err == nil {
			matchReference(t, v)
		}
	})
}

// BenchmarkJSONText writes the content of an LLM chat span.
func BenchmarkJSONText(b *testing.B) {
	turn := strings.Repeat("The customer asks about the refund policy for order 4711; answer politely. ", 8)
	v, err := jsonvalue.Parse(`[{"role":"system","parts":[{"type":"text","content":"You are a support agent."}]},` +
		`{"role":"user","parts":[{"type":"text","content":"` + turn + `"}]},` +
		`{"role":"assistant","parts":[{"type":"tool_call","id":"call_1","name":"lookup_order",` +
		`"arguments":{"order_id":4711,"fields":["status","refund"]}}],"finish_reason":"tool_calls"}]`)
	if err != nil {
		b.Fatal(err)
	}
	for name, write := range map[string]func(*structpb.Value) (string, error){
		"JSONText": JSONText, "protojson": referenceJSONText,
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := write(v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
