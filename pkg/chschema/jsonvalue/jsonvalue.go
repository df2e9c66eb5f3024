// Package jsonvalue decodes JSON text, with one decoder and two readings:
// Parse reads a google.protobuf.Value as protojson does, ParseAny reads Go
// values as encoding/json's Unmarshal into an any does.
//
// ClickHouse holds every input and output as the protojson text of a Value,
// and GetTrace turns tens of thousands of them back into Values per call;
// the worker reads the JSON text of LLM spans' content. protojson and
// encoding/json walk their output through reflection and allocate per
// token; this decoder builds the result directly, makes each array and
// object at its final size, and reuses the input for strings without
// escapes, several times faster (see the benchmarks). Each reading accepts
// exactly the texts its model accepts and yields equal values (FuzzParse
// and FuzzParseAny check both against their model).
//
// The Value constructors (StringValue, StructValue, ...) make a Value and
// its kind in one allocation; they serve callers building Values from
// other sources too.
package jsonvalue

import "google.golang.org/protobuf/types/known/structpb"

// protojsonMaxDepth mirrors protojson's default recursion limit, counted
// the same way: in nested Values (a Struct or ListValue inside a Value adds
// none), the top-level Value at depth 1.
const protojsonMaxDepth = 10_000

// Parse decodes text, one JSON value with optional surrounding whitespace,
// as protojson.Unmarshal decodes a google.protobuf.Value: strict RFC 8259
// JSON, valid UTF-8, no unpaired surrogate escapes, no duplicate object
// keys, numbers that fit a float64, and protojson's nesting limit. Strings
// of the result may share memory with text.
func Parse(text string) (*structpb.Value, error) {
	return decode(text, pbBuilder{}, options{maxDepth: protojsonMaxDepth})
}

// ParseAny decodes text as encoding/json's Unmarshal into an any does:
// map[string]any, []any (empty, not nil, for []), string, float64, bool and
// nil; invalid UTF-8 and unpaired surrogate escapes in strings become
// U+FFFD; the last of repeated keys wins; a number out of float64's range
// refuses the text. Unlike encoding/json it also refuses values nested
// deeper than maxDepth, a top-level value being at depth 1. Strings of the
// result may share memory with text.
func ParseAny(text string, maxDepth int) (any, error) {
	return decode(text, anyBuilder{}, options{maxDepth: maxDepth, replaceInvalid: true})
}

// pbBuilder builds protojson's Values, refusing repeated keys.
type pbBuilder struct{}

func (pbBuilder) null() *structpb.Value            { return NullValue() }
func (pbBuilder) boolean(b bool) *structpb.Value   { return BoolValue(b) }
func (pbBuilder) number(f float64) *structpb.Value { return NumberValue(f) }
func (pbBuilder) str(s string) *structpb.Value     { return StringValue(s) }
func (pbBuilder) array(elems []member[*structpb.Value]) *structpb.Value {
	if len(elems) == 0 {
		return ListValue(nil)
	}
	values := make([]*structpb.Value, len(elems))
	for i, e := range elems {
		values[i] = e.value
	}
	return ListValue(values)
}

func (pbBuilder) object(members []member[*structpb.Value]) (*structpb.Value, error) {
	fields := make(map[string]*structpb.Value, len(members))
	for _, m := range members {
		fields[m.key] = m.value
	}
	if len(fields) < len(members) {
		return nil, errDupKey
	}
	return StructValue(fields), nil
}

// anyBuilder builds encoding/json's Go values, the last of repeated keys
// winning.
type anyBuilder struct{}

func (anyBuilder) null() any            { return nil }
func (anyBuilder) boolean(b bool) any   { return b }
func (anyBuilder) number(f float64) any { return f }
func (anyBuilder) str(s string) any     { return s }
func (anyBuilder) array(elems []member[any]) any {
	values := make([]any, len(elems))
	for i, e := range elems {
		values[i] = e.value
	}
	return values
}

func (anyBuilder) object(members []member[any]) (any, error) {
	m := make(map[string]any, len(members))
	for _, e := range members {
		m[e.key] = e.value
	}
	return m, nil
}

// The Values allocated with their kind (and Struct or ListValue):
// structpb's constructors make each part on its own, and an LLM span's
// content holds hundreds of Values.
type (
	pbString struct {
		v structpb.Value
		k structpb.Value_StringValue
	}
	pbNumber struct {
		v structpb.Value
		k structpb.Value_NumberValue
	}
	pbBool struct {
		v structpb.Value
		k structpb.Value_BoolValue
	}
	pbNull struct {
		v structpb.Value
		k structpb.Value_NullValue
	}
	pbStruct struct {
		v structpb.Value
		k structpb.Value_StructValue
		s structpb.Struct
	}
	pbList struct {
		v structpb.Value
		k structpb.Value_ListValue
		l structpb.ListValue
	}
)

// StringValue is structpb.NewStringValue(s) in one allocation.
func StringValue(s string) *structpb.Value {
	p := new(pbString)
	p.k.StringValue = s
	p.v.Kind = &p.k
	return &p.v
}

// NumberValue is structpb.NewNumberValue(f) in one allocation.
func NumberValue(f float64) *structpb.Value {
	p := new(pbNumber)
	p.k.NumberValue = f
	p.v.Kind = &p.k
	return &p.v
}

// BoolValue is structpb.NewBoolValue(b) in one allocation.
func BoolValue(b bool) *structpb.Value {
	p := new(pbBool)
	p.k.BoolValue = b
	p.v.Kind = &p.k
	return &p.v
}

// NullValue is structpb.NewNullValue() in one allocation.
func NullValue() *structpb.Value {
	p := new(pbNull)
	p.v.Kind = &p.k
	return &p.v
}

// StructValue is the Value of a Struct holding fields, made in one
// allocation; the Struct keeps fields.
func StructValue(fields map[string]*structpb.Value) *structpb.Value {
	p := new(pbStruct)
	p.s.Fields = fields
	p.k.StructValue = &p.s
	p.v.Kind = &p.k
	return &p.v
}

// ListValue is the Value of a ListValue holding values, made in one
// allocation; the ListValue keeps values.
func ListValue(values []*structpb.Value) *structpb.Value {
	p := new(pbList)
	p.l.Values = values
	p.k.ListValue = &p.l
	p.v.Kind = &p.k
	return &p.v
}
