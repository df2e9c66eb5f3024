package validation

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Timestamps must fall in [minTime, maxTime): anything else is a unit
// mistake (seconds sent as milliseconds) and would overflow the nanosecond
// columns downstream.
var (
	minTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// checker records the first rule an event breaks; once it has failed, every
// further check is a no-op, so the rules read as a flat list.
type checker struct {
	lim Limits
	err *Error
}

func (c *checker) fail(field, format string, args ...any) {
	if c.err == nil {
		c.err = &Error{Field: field, Message: fmt.Sprintf(format, args...)}
	}
}

// id checks an identifier: printable, no surrounding whitespace, bounded.
func (c *checker) id(field, s string, required bool) {
	switch {
	case c.err != nil:
	case s == "":
		if required {
			c.fail(field, "required")
		}
	case len(s) > c.lim.MaxIDBytes:
		c.fail(field, "is %d bytes long, at most %d allowed", len(s), c.lim.MaxIDBytes)
	case !utf8.ValidString(s):
		c.fail(field, "must be valid UTF-8")
	case strings.TrimSpace(s) != s:
		c.fail(field, "must not start or end with whitespace")
	case strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		c.fail(field, "must contain only printable characters")
	}
}

func (c *checker) short(field, s string) { c.str(field, s, c.lim.MaxNameBytes) }

func (c *checker) text(field, s string) { c.str(field, s, c.lim.MaxTextBytes) }

func (c *checker) str(field, s string, limit int) {
	switch {
	case c.err != nil:
	case len(s) > limit:
		c.fail(field, "is %d bytes long, at most %d allowed", len(s), limit)
	case !utf8.ValidString(s):
		c.fail(field, "must be valid UTF-8")
	}
}

func (c *checker) timestamp(field string, ts *timestamppb.Timestamp) {
	if c.err != nil || ts == nil {
		return
	}
	if err := ts.CheckValid(); err != nil {
		c.fail(field, "is not a valid timestamp")
		return
	}
	if t := ts.AsTime(); t.Before(minTime) || !t.Before(maxTime) {
		c.fail(field, "%s is out of range: timestamps must fall in years 1970 to 2199", t.Format(time.RFC3339Nano))
	}
}

// notBefore checks that the later timestamp does not precede the earlier one
// when both are set.
func (c *checker) notBefore(field string, later *timestamppb.Timestamp, earlierField string, earlier *timestamppb.Timestamp) {
	if c.err != nil || later == nil || earlier == nil {
		return
	}
	if later.AsTime().Before(earlier.AsTime()) {
		c.fail(field, "must not be before %s", earlierField)
	}
}

// enum checks that v is a value the schema knows, and set when required.
func (c *checker) enum(field string, v protoreflect.Enum, required bool) {
	if c.err != nil {
		return
	}
	values := v.Descriptor().Values()
	if values.ByNumber(v.Number()) == nil {
		c.fail(field, "unknown value %d", int32(v.Number()))
		return
	}
	if required && v.Number() == 0 {
		names := make([]string, 0, values.Len()-1)
		for i := 1; i < values.Len(); i++ {
			names = append(names, string(values.Get(i).Name()))
		}
		c.fail(field, "required: one of %s", strings.Join(names, ", "))
	}
}

func (c *checker) tags(field string, tags []string) {
	if c.err != nil {
		return
	}
	if len(tags) > c.lim.MaxTags {
		c.fail(field, "has %d tags, at most %d allowed", len(tags), c.lim.MaxTags)
		return
	}
	for i, tag := range tags {
		if tag == "" {
			c.fail(field, "tag %d is empty", i)
		}
		c.short(field, tag)
	}
}

func (c *checker) stringMap(field string, m map[string]string) {
	if c.err != nil {
		return
	}
	if len(m) > c.lim.MaxMapEntries {
		c.fail(field, "has %d entries, at most %d allowed", len(m), c.lim.MaxMapEntries)
		return
	}
	for k, v := range m {
		c.mapKey(field, k)
		if c.err == nil && len(v) > c.lim.MaxTextBytes {
			c.fail(field, "value of %q is %d bytes long, at most %d allowed", k, len(v), c.lim.MaxTextBytes)
		}
		if c.err == nil && !utf8.ValidString(v) {
			c.fail(field, "value of %q must be valid UTF-8", k)
		}
	}
}

func (c *checker) mapKey(field, k string) {
	switch {
	case c.err != nil:
	case k == "":
		c.fail(field, "keys must not be empty")
	case len(k) > c.lim.MaxNameBytes:
		c.fail(field, "key is %d bytes long, at most %d allowed", len(k), c.lim.MaxNameBytes)
	case !utf8.ValidString(k):
		c.fail(field, "keys must be valid UTF-8")
	}
}

// count checks a token (or other unit) count.
func (c *checker) count(field string, n *int64) {
	if c.err == nil && n != nil && *n < 0 {
		c.fail(field, "is %d: counts must not be negative", *n)
	}
}

// price checks an amount of money.
func (c *checker) price(field string, f *float64) {
	c.finite(field, f)
	if c.err == nil && f != nil && *f < 0 {
		c.fail(field, "is %v: costs must not be negative", *f)
	}
}

func (c *checker) finite(field string, f *float64) {
	if c.err == nil && f != nil && (math.IsNaN(*f) || math.IsInf(*f, 0)) {
		c.fail(field, "must be a finite number")
	}
}

// value checks that a JSON value can be rendered as JSON downstream.
func (c *checker) value(field string, v *structpb.Value) {
	if c.err != nil || v == nil {
		return
	}
	if msg := jsonProblem(v, c.lim.MaxValueDepth); msg != "" {
		c.fail(field, "%s", msg)
	}
}

// jsonProblem walks v and describes the first part that is not valid JSON.
func jsonProblem(v *structpb.Value, depth int) string {
	if depth <= 0 {
		return "is nested too deeply"
	}
	switch k := v.GetKind().(type) {
	case nil:
		return "holds a value with no kind set"
	case *structpb.Value_NumberValue:
		if math.IsNaN(k.NumberValue) || math.IsInf(k.NumberValue, 0) {
			return "holds a number that is not finite"
		}
	case *structpb.Value_StringValue:
		if !utf8.ValidString(k.StringValue) {
			return "holds a string that is not valid UTF-8"
		}
	case *structpb.Value_StructValue:
		for key, f := range k.StructValue.GetFields() {
			if !utf8.ValidString(key) {
				return "holds an object key that is not valid UTF-8"
			}
			if f == nil {
				return "holds a value with no kind set"
			}
			if p := jsonProblem(f, depth-1); p != "" {
				return p
			}
		}
	case *structpb.Value_ListValue:
		for _, e := range k.ListValue.GetValues() {
			if e == nil {
				return "holds a value with no kind set"
			}
			if p := jsonProblem(e, depth-1); p != "" {
				return p
			}
		}
	}
	return ""
}
