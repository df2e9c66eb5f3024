package langfuse

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// fieldError says which field of a Langfuse event is malformed; field is
// the path within the event as the SDK spells it ("body.startTime").
type fieldError struct {
	field, msg string
}

func (e *fieldError) Error() string {
	if e.field == "" {
		return e.msg
	}
	return e.field + ": " + e.msg
}

// object reads the fields of one JSON object. Like the checker in ingest's
// validation, it keeps the first error and every later read is a no-op, so
// a mapping reads as a flat list of fields. A field that is absent or null
// reads as unset: Langfuse's schemas are "nullish" throughout.
type object struct {
	m      map[string]json.RawMessage
	prefix string // "body." for an event's body
	err    *fieldError
}

// newObject decodes raw as a JSON object; field names raw in errors.
func newObject(raw json.RawMessage, field, prefix string) (*object, *fieldError) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, &fieldError{field: field, msg: "must be a JSON object, got " + kindOf(raw)}
	}
	return &object{m: m, prefix: prefix}, nil
}

func (o *object) fail(name, format string, args ...any) {
	if o.err == nil {
		o.err = &fieldError{field: o.prefix + name, msg: fmt.Sprintf(format, args...)}
	}
}

// get returns a field's raw JSON, nil when absent, null or after an error.
func (o *object) get(name string) json.RawMessage {
	if o.err != nil {
		return nil
	}
	raw, ok := o.m[name]
	if !ok || isNull(raw) {
		return nil
	}
	return raw
}

func (o *object) str(name string) *string {
	raw := o.get(name)
	if raw == nil {
		return nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		o.fail(name, "must be a string, got %s", kindOf(raw))
		return nil
	}
	return &s
}

// number reads any JSON number as a float64.
func (o *object) number(name string) *float64 {
	raw := o.get(name)
	if raw == nil {
		return nil
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil {
		o.fail(name, "must be a number, got %s", kindOf(raw))
		return nil
	}
	return &f
}

// integer reads a JSON number that holds a whole value (5 and 5.0 alike,
// as JavaScript cannot tell them apart).
func (o *object) integer(name string) *int64 {
	f := o.number(name)
	if f == nil {
		return nil
	}
	if *f != math.Trunc(*f) || math.Abs(*f) > 1<<53 {
		o.fail(name, "must be a whole number, got %v", *f)
		return nil
	}
	n := int64(*f)
	return &n
}

func (o *object) time(name string) *timestamppb.Timestamp {
	s := o.str(name)
	if s == nil {
		return nil
	}
	t, ok := parseTime(*s)
	if !ok {
		o.fail(name, "must be an ISO 8601 date-time such as 2024-05-01T12:00:00.000Z, got %q", clip(*s))
		return nil
	}
	return timestamppb.New(t)
}

// value reads any JSON as a google.protobuf.Value.
func (o *object) value(name string) *structpb.Value {
	raw := o.get(name)
	if raw == nil {
		return nil
	}
	v, err := jsonValue(raw)
	if err != nil {
		o.fail(name, "%v", err)
		return nil
	}
	return v
}

func (o *object) strings(name string) []string {
	raw := o.get(name)
	if raw == nil {
		return nil
	}
	var ss []string
	if err := json.Unmarshal(raw, &ss); err != nil {
		o.fail(name, "must be an array of strings")
		return nil
	}
	return ss
}

// stringMap reads a JSON object whose values may be any JSON: strings are
// kept as they are, every other value becomes its compact JSON text, and
// null values are left out. A value that is not an object (Langfuse accepts
// any JSON as metadata) is kept whole under the key wrapKey.
func (o *object) stringMap(name, wrapKey string) map[string]string {
	raw := o.get(name)
	if raw == nil {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		if wrapKey == "" {
			o.fail(name, "must be a JSON object, got %s", kindOf(raw))
			return nil
		}
		return map[string]string{wrapKey: jsonText(raw)}
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if isNull(v) {
			continue
		}
		out[k] = jsonText(v)
	}
	return out
}

// rawObject reads a field that must be a JSON object, leaving its values raw.
func (o *object) rawObject(name string) map[string]json.RawMessage {
	raw := o.get(name)
	if raw == nil {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		o.fail(name, "must be a JSON object, got %s", kindOf(raw))
		return nil
	}
	return m
}

// jsonText is a JSON value as a metadata string: a string's own text,
// anything else compact JSON.
func jsonText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) != nil {
		return string(raw) // unreachable: raw came out of a successful decode
	}
	return buf.String()
}

func jsonValue(raw json.RawMessage) (*structpb.Value, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("is not representable: %w", err)
	}
	pv, err := structpb.NewValue(v)
	if err != nil {
		return nil, fmt.Errorf("is not representable: %w", err)
	}
	return pv, nil
}

func isNull(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}

// kindOf names the JSON kind of raw for error messages.
func kindOf(raw json.RawMessage) string {
	b := bytes.TrimSpace(raw)
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// Date-times as the SDKs write them: JavaScript's toISOString (UTC, ms),
// Python's isoformat (µs, with or without an offset). A time without an
// offset is read as UTC.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00"}

func parseTime(s string) (time.Time, bool) {
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// clip keeps quoted client input in error messages short.
func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return strings.ToValidUTF8(s[:max], "") + "…"
}

// formatInt is strconv.FormatInt in base 10.
func formatInt(n int64) string { return strconv.FormatInt(n, 10) }
