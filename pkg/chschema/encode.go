package chschema

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
)

// The stored encodings, write side:
//   - times: nanoseconds since the epoch in a UInt64, 0 when unset;
//   - enums: the value's proto name without its type prefix
//     ("GENERATION" for OBSERVATION_TYPE_GENERATION), "" when unspecified;
//   - input, output: the compact protojson text of a google.protobuf.Value,
//     "" when absent;
//   - maps: parallel key and value arrays sorted by key (MapColumns);
//   - usage and cost: Nullable columns, NULL when the event does not set
//     them (0 is a value); usage details a map of Int64.

// maxNanosSeconds is the last second whose nanosecond count fits in int64
// (year 2262): readers convert the column to time.Time through int64.
const maxNanosSeconds = math.MaxInt64/1_000_000_000 - 1

// Nanos encodes ts as nanoseconds since the epoch; nil is 0 (unset).
func Nanos(ts *timestamppb.Timestamp) (uint64, error) {
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

// EnumName encodes an enum value: its name without the type prefix, ""
// for the zero value. Unknown numbers (from a newer publisher) are an error
// rather than a silent "" so that the event can be kept and replayed by a
// newer writer.
func EnumName(v protoreflect.Enum) (string, error) {
	if v.Number() == 0 {
		return "", nil
	}
	d := v.Descriptor().Values().ByNumber(v.Number())
	if d == nil {
		return "", fmt.Errorf("unknown enum value %d", v.Number())
	}
	return strings.TrimPrefix(string(d.Name()), enumPrefix(v.Descriptor())), nil
}

// enumPrefix is the prefix every value name of d carries: the name of its
// zero value (buf's STANDARD lint: PREFIX_UNSPECIFIED) without UNSPECIFIED.
func enumPrefix(d protoreflect.EnumDescriptor) string {
	zero := d.Values().ByNumber(0)
	if zero == nil {
		return ""
	}
	return strings.TrimSuffix(string(zero.Name()), "UNSPECIFIED")
}

// Pairs splits a map into the parallel key and value arrays of a
// MapColumns, sorted by key so a row's bytes do not depend on map
// iteration order. Never nil.
func Pairs[V any](m map[string]V) ([]string, []V) {
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

// Event is what every row takes from its event rather than its body.
type Event struct {
	ProjectID string
	ID        string // the event id (a redelivery has the same)
	TS        uint64 // when it happened, nanoseconds: the row's version
}

// encoder turns body fields into column values and keeps the first error,
// naming its field, so the row builders stay a flat list of assignments.
type encoder struct{ err error }

func (c *encoder) fail(field string, err error) {
	if c.err == nil {
		c.err = fmt.Errorf("%s: %w", field, err)
	}
}

func (c *encoder) time(field string, ts *timestamppb.Timestamp) uint64 {
	n, err := Nanos(ts)
	if err != nil {
		c.fail(field, err)
	}
	return n
}

func (c *encoder) enum(field string, v protoreflect.Enum) string {
	s, err := EnumName(v)
	if err != nil {
		c.fail(field, err)
	}
	return s
}

func (c *encoder) json(field string, v *structpb.Value) string {
	s, err := JSONText(v)
	if err != nil {
		c.fail(field, err)
	}
	return s
}

// TraceRow encodes the row of a trace event. The error names the field.
func TraceRow(e Event, t *ingestv1.TraceBody) (Trace, error) {
	if t.GetId() == "" {
		return Trace{}, fmt.Errorf("trace.id is empty")
	}
	var c encoder
	row := Trace{
		ProjectID:   e.ProjectID,
		ID:          t.GetId(),
		Timestamp:   c.time("trace.timestamp", t.GetTimestamp()),
		Name:        t.GetName(),
		UserID:      t.GetUserId(),
		SessionID:   t.GetSessionId(),
		Tags:        nonNil(t.GetTags()),
		Input:       c.json("trace.input", t.GetInput()),
		Output:      c.json("trace.output", t.GetOutput()),
		Release:     t.GetRelease(),
		Version:     t.GetVersion(),
		Environment: t.GetEnvironment(),
		EventID:     e.ID,
		EventTS:     e.TS,
	}
	row.MetadataKeys, row.MetadataValues = Pairs(t.GetMetadata())
	return row, c.err
}

// ObservationRow encodes the row of an observation event.
func ObservationRow(e Event, o *ingestv1.ObservationBody) (Observation, error) {
	if o.GetId() == "" {
		return Observation{}, fmt.Errorf("observation.id is empty")
	}
	// The row's sort key starts with trace_id; a row without one could never
	// be found by a read of its trace.
	if o.GetTraceId() == "" {
		return Observation{}, fmt.Errorf("observation.trace_id is empty")
	}
	var c encoder
	row := Observation{
		ProjectID:           e.ProjectID,
		TraceID:             o.GetTraceId(),
		ID:                  o.GetId(),
		ParentObservationID: o.GetParentObservationId(),
		Type:                c.enum("observation.type", o.GetType()),
		Name:                o.GetName(),
		StartTime:           c.time("observation.start_time", o.GetStartTime()),
		EndTime:             c.time("observation.end_time", o.GetEndTime()),
		CompletionStartTime: c.time("observation.completion_start_time", o.GetCompletionStartTime()),
		Level:               c.enum("observation.level", o.GetLevel()),
		StatusMessage:       o.GetStatusMessage(),
		Model:               o.GetModel(),
		Input:               c.json("observation.input", o.GetInput()),
		Output:              c.json("observation.output", o.GetOutput()),
		Version:             o.GetVersion(),
		Environment:         o.GetEnvironment(),
		EventID:             e.ID,
		EventTS:             e.TS,
	}
	row.ModelParametersKeys, row.ModelParametersValues = Pairs(o.GetModelParameters())
	row.MetadataKeys, row.MetadataValues = Pairs(o.GetMetadata())
	if u := o.GetUsage(); u != nil {
		row.UsageInput, row.UsageOutput, row.UsageTotal = u.Input, u.Output, u.Total
		row.UsageDetailsKeys, row.UsageDetailsValues = Pairs(u.GetDetails())
	} else {
		row.UsageDetailsKeys, row.UsageDetailsValues = []string{}, []int64{}
	}
	if cost := o.GetCost(); cost != nil {
		row.CostInput, row.CostOutput, row.CostTotal = cost.Input, cost.Output, cost.Total
	}
	return row, c.err
}

// ScoreRow encodes the row of a score event.
func ScoreRow(e Event, s *ingestv1.ScoreBody) (Score, error) {
	if s.GetId() == "" {
		return Score{}, fmt.Errorf("score.id is empty")
	}
	if s.GetTraceId() == "" && s.GetSessionId() == "" {
		return Score{}, fmt.Errorf("score has neither trace_id nor session_id")
	}
	var c encoder
	row := Score{
		ProjectID:     e.ProjectID,
		ID:            s.GetId(),
		TraceID:       s.GetTraceId(),
		ObservationID: s.GetObservationId(),
		SessionID:     s.GetSessionId(),
		Name:          s.GetName(),
		DataType:      c.enum("score.data_type", s.GetDataType()),
		Value:         s.Value,
		StringValue:   s.GetStringValue(),
		Comment:       s.GetComment(),
		Source:        c.enum("score.source", s.GetSource()),
		Timestamp:     c.time("score.timestamp", s.GetTimestamp()),
		Environment:   s.GetEnvironment(),
		EventID:       e.ID,
		EventTS:       e.TS,
	}
	row.MetadataKeys, row.MetadataValues = Pairs(s.GetMetadata())
	return row, c.err
}
