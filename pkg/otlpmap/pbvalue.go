package otlpmap

import (
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/structpb"
)

// The structpb kinds allocated with their Value: structpb.NewValue makes
// the Value, its kind wrapper and the Struct or ListValue one by one, and
// an LLM span's content holds hundreds of them.
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

// pbValue is structpb.NewValue(v) for the values native and parseJSON
// build (nil, bool, int64, float64, string, []any, map[string]any) in
// fewer allocations. It reports false, having built nothing usable, for
// any other type and for invalid UTF-8, which toValue leaves to sanitize
// and structpb.
func pbValue(v any) (*structpb.Value, bool) {
	switch x := v.(type) {
	case nil:
		p := new(pbNull)
		p.v.Kind = &p.k
		return &p.v, true
	case bool:
		p := new(pbBool)
		p.k.BoolValue = x
		p.v.Kind = &p.k
		return &p.v, true
	case int64:
		return pbNumberValue(float64(x)), true
	case float64:
		return pbNumberValue(x), true
	case string:
		if !utf8.ValidString(x) {
			return nil, false
		}
		p := new(pbString)
		p.k.StringValue = x
		p.v.Kind = &p.k
		return &p.v, true
	case []any:
		p := new(pbList)
		p.l.Values = make([]*structpb.Value, len(x))
		for i, e := range x {
			ev, ok := pbValue(e)
			if !ok {
				return nil, false
			}
			p.l.Values[i] = ev
		}
		p.k.ListValue = &p.l
		p.v.Kind = &p.k
		return &p.v, true
	case map[string]any:
		p := new(pbStruct)
		p.s.Fields = make(map[string]*structpb.Value, len(x))
		for k, e := range x {
			if !utf8.ValidString(k) {
				return nil, false
			}
			ev, ok := pbValue(e)
			if !ok {
				return nil, false
			}
			p.s.Fields[k] = ev
		}
		p.k.StructValue = &p.s
		p.v.Kind = &p.k
		return &p.v, true
	}
	return nil, false
}

func pbNumberValue(f float64) *structpb.Value {
	p := new(pbNumber)
	p.k.NumberValue = f
	p.v.Kind = &p.k
	return &p.v
}
