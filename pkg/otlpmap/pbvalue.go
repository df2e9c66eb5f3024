package otlpmap

import (
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/agenttrace/agenttrace/pkg/chschema/jsonvalue"
)

// pbValue is structpb.NewValue(v) for the values native and parseJSON
// build (nil, bool, int64, float64, string, []any, map[string]any) in
// fewer allocations: jsonvalue's constructors make each Value with its
// kind (and Struct or ListValue) in one. It reports false, having built
// nothing usable, for any other type and for invalid UTF-8, which toValue
// leaves to sanitize and structpb.
func pbValue(v any) (*structpb.Value, bool) {
	switch x := v.(type) {
	case nil:
		return jsonvalue.NullValue(), true
	case bool:
		return jsonvalue.BoolValue(x), true
	case int64:
		return jsonvalue.NumberValue(float64(x)), true
	case float64:
		return jsonvalue.NumberValue(x), true
	case string:
		if !utf8.ValidString(x) {
			return nil, false
		}
		return jsonvalue.StringValue(x), true
	case []any:
		values := make([]*structpb.Value, len(x))
		for i, e := range x {
			ev, ok := pbValue(e)
			if !ok {
				return nil, false
			}
			values[i] = ev
		}
		return jsonvalue.ListValue(values), true
	case map[string]any:
		fields := make(map[string]*structpb.Value, len(x))
		for k, e := range x {
			if !utf8.ValidString(k) {
				return nil, false
			}
			ev, ok := pbValue(e)
			if !ok {
				return nil, false
			}
			fields[k] = ev
		}
		return jsonvalue.StructValue(fields), true
	}
	return nil, false
}
