package eventrows

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// maxNanosSeconds is the last second whose nanosecond count fits in int64
// (year 2262): readers convert the column to time.Time through int64.
const maxNanosSeconds = math.MaxInt64/1_000_000_000 - 1

// converter turns body fields into column values and keeps the first error,
// naming its field, so the row builders stay a flat list of assignments.
type converter struct{ err error }

func (c *converter) fail(field string, err error) {
	if c.err == nil {
		c.err = fmt.Errorf("%s: %w", field, err)
	}
}

// time is a timestamp in nanoseconds since the epoch, 0 when unset.
func (c *converter) time(field string, ts *timestamppb.Timestamp) uint64 {
	n, err := nanos(ts)
	if err != nil {
		c.fail(field, err)
	}
	return n
}

// enum is the value's proto name without prefix, ” for the zero value.
// Unknown numbers (from a newer publisher) are an error rather than a silent
// ” so the message is dead-lettered and can be replayed by a newer worker.
func (c *converter) enum(field string, v protoreflect.Enum, prefix string) string {
	if v.Number() == 0 {
		return ""
	}
	d := v.Descriptor().Values().ByNumber(v.Number())
	if d == nil {
		c.fail(field, fmt.Errorf("unknown enum value %d", v.Number()))
		return ""
	}
	return strings.TrimPrefix(string(d.Name()), prefix)
}

// json is the protojson text of v, compacted because protojson varies its
// whitespace between builds on purpose; ” when v is absent or holds no kind.
func (c *converter) json(field string, v *structpb.Value) string {
	if v == nil || v.GetKind() == nil {
		return ""
	}
	raw, err := protojson.Marshal(v)
	if err != nil {
		c.fail(field, err)
		return ""
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		c.fail(field, err)
		return ""
	}
	return buf.String()
}

// nanos converts ts to nanoseconds since the epoch; nil is 0 (unset).
func nanos(ts *timestamppb.Timestamp) (uint64, error) {
	if ts == nil {
		return 0, nil
	}
	if err := ts.CheckValid(); err != nil {
		return 0, err
	}
	if ts.GetSeconds() < 0 || ts.GetSeconds() > maxNanosSeconds {
		return 0, fmt.Errorf("%s is outside 1970..2262", ts.AsTime().UTC().Format("2006-01-02T15:04:05Z07:00"))
	}
	return uint64(ts.GetSeconds())*1e9 + uint64(ts.GetNanos()), nil
}

// pairs splits a map into parallel key and value slices, sorted by key so a
// row's bytes do not depend on map iteration order. Never nil: ClickHouse
// arrays are [] when empty.
func pairs[V any](m map[string]V) ([]string, []V) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	values := make([]V, len(keys))
	for i, k := range keys {
		values[i] = m[k]
	}
	return keys, values
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
