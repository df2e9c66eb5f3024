package otlpmap

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	commonv1 "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/protobuf/types/known/structpb"
)

// Caps on what one span contributes. They mirror ingest's limits for native
// events (services/ingest/internal/validation) so an OTLP object never
// holds what the native API would refuse.
const (
	// maxTextBytes bounds metadata and model parameter values and the status
	// message; longer values are cut and marked with truncatedMark.
	maxTextBytes = 64 << 10
	// maxNameBytes bounds names, model, environment, release, version,
	// tags and map keys; longer values are cut.
	maxNameBytes = 1024
	// maxIDBytes bounds user and session ids; longer values are cut.
	maxIDBytes = 256
	// maxTags bounds the tags one span adds to its trace.
	maxTags = 100
	// maxDepth bounds the nesting of input, output and structured
	// attribute values; deeper parts become deepMark.
	maxDepth = 32
	// maxFlatIndex bounds the N of flattened attributes such as
	// gen_ai.prompt.N.content, so a hostile key cannot make a huge array.
	maxFlatIndex = 10_000
)

const (
	truncatedMark = "…(truncated)"
	deepMark      = "…(nested too deep)"
)

// clip cuts s to at most n bytes on a rune boundary and repairs invalid
// UTF-8 (possible only in requests built in memory: decoded protobuf strings
// are valid).
func clip(s string, n int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// clipText is clip for free text: a cut value says so.
func clipText(s string) string {
	if len(s) <= maxTextBytes && utf8.ValidString(s) {
		return s
	}
	s = clip(s, math.MaxInt) // repair only
	if len(s) <= maxTextBytes {
		return s
	}
	return clip(s, maxTextBytes-len(truncatedMark)) + truncatedMark
}

// text renders v as a metadata string: scalars in their usual notation,
// bytes as base64, arrays and maps as JSON.
func text(v *commonv1.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *commonv1.AnyValue_StringValue:
		return x.StringValue
	case *commonv1.AnyValue_BoolValue:
		return strconv.FormatBool(x.BoolValue)
	case *commonv1.AnyValue_IntValue:
		return strconv.FormatInt(x.IntValue, 10)
	case *commonv1.AnyValue_DoubleValue:
		return strconv.FormatFloat(x.DoubleValue, 'g', -1, 64)
	case *commonv1.AnyValue_BytesValue:
		return base64.StdEncoding.EncodeToString(x.BytesValue)
	case *commonv1.AnyValue_ArrayValue, *commonv1.AnyValue_KvlistValue:
		return jsonText(native(v, 0))
	}
	return ""
}

// jsonText is the JSON of a value built by native or parseJSON, which
// always marshals (no NaN, no channels).
func jsonText(v any) string {
	if b, ok := appendJSON(make([]byte, 0, 64), v); ok {
		return string(b)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

// native converts v to plain Go values (string, bool, int64, float64, nil,
// []any, map[string]any). Non-finite doubles become their names, which
// JSON cannot hold as numbers; parts deeper than maxDepth become deepMark.
func native(v *commonv1.AnyValue, depth int) any {
	if depth > maxDepth {
		return deepMark
	}
	switch x := v.GetValue().(type) {
	case *commonv1.AnyValue_StringValue:
		return x.StringValue
	case *commonv1.AnyValue_BoolValue:
		return x.BoolValue
	case *commonv1.AnyValue_IntValue:
		return x.IntValue
	case *commonv1.AnyValue_DoubleValue:
		if math.IsNaN(x.DoubleValue) || math.IsInf(x.DoubleValue, 0) {
			return strconv.FormatFloat(x.DoubleValue, 'g', -1, 64)
		}
		return x.DoubleValue
	case *commonv1.AnyValue_BytesValue:
		return base64.StdEncoding.EncodeToString(x.BytesValue)
	case *commonv1.AnyValue_ArrayValue:
		out := make([]any, 0, len(x.ArrayValue.GetValues()))
		for _, e := range x.ArrayValue.GetValues() {
			out = append(out, native(e, depth+1))
		}
		return out
	case *commonv1.AnyValue_KvlistValue:
		out := make(map[string]any, len(x.KvlistValue.GetValues()))
		for _, kv := range x.KvlistValue.GetValues() {
			out[kv.GetKey()] = native(kv.GetValue(), depth+1)
		}
		return out
	}
	return nil
}

// looksStructured reports whether s is meant as a JSON object or array;
// a bare "42" or "true" stays a string.
func looksStructured(s string) bool {
	s = strings.TrimSpace(s)
	return strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[")
}

// structured is v as an input or output: arrays and maps as they are,
// strings parsed when they hold a JSON object or array, other scalars as
// themselves.
func structured(v *commonv1.AnyValue) any {
	if s, ok := v.GetValue().(*commonv1.AnyValue_StringValue); ok && looksStructured(s.StringValue) {
		if parsed, ok := parseJSON(s.StringValue); ok {
			return parsed
		}
	}
	return native(v, 0)
}

// toValue converts a plain Go value to a protobuf Value. It cannot fail
// for values from native or parseJSON with valid UTF-8; should it fail,
// the value is kept as its JSON text rather than lost.
func toValue(v any) *structpb.Value {
	if pv, ok := pbValue(v); ok {
		return pv
	}
	pv, err := structpb.NewValue(sanitize(v))
	if err != nil {
		return structpb.NewStringValue(clip(jsonText(v), math.MaxInt))
	}
	return pv
}

// sanitize repairs invalid UTF-8 in strings and keys, which structpb
// refuses; requests decoded from the wire never contain any.
func sanitize(v any) any {
	switch x := v.(type) {
	case string:
		return clip(x, math.MaxInt)
	case []any:
		for i, e := range x {
			if needsRepair(e) {
				x[i] = sanitize(e)
			} else {
				sanitize(e)
			}
		}
	case map[string]any:
		for k, e := range x {
			if !utf8.ValidString(k) {
				delete(x, k)
				k = clip(k, math.MaxInt)
				x[k] = sanitize(e)
				continue
			}
			// Storing an unchanged element back would box its string
			// again: only repaired strings are written.
			if needsRepair(e) {
				x[k] = sanitize(e)
			} else {
				sanitize(e)
			}
		}
	}
	return v
}

// needsRepair reports whether sanitize returns another value for v than
// v itself: a string with invalid UTF-8 (containers are repaired in place).
func needsRepair(v any) bool {
	s, ok := v.(string)
	return ok && !utf8.ValidString(s)
}
