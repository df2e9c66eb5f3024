package conformance

import (
	"context"
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
)

// Open gives one case a Writer and a Reader over a fresh, migrated
// database of the real ClickHouse, removed when the test ends.
type Open func(t *testing.T) (Writer, Reader)

// Case is one entry of the suite: what is written, then what must be read.
type Case struct {
	Name string
	Run  func(t *testing.T, w Writer, r Reader)
}

// Run runs every case of Cases, each in its own database.
func Run(t *testing.T, open Open) {
	for _, c := range Cases() {
		t.Run(c.Name, func(t *testing.T) {
			w, r := open(t)
			c.Run(t, w, r)
		})
	}
}

const (
	project = "proj-conf"
	other   = "proj-other" // holds rows with the same ids, never to be seen from project
)

// base is 2025-03-01T00:00:00Z; at(s) is s seconds (fractions kept to the
// nanosecond) later.
var base = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)

func at(s float64) *timestamppb.Timestamp {
	return timestamppb.New(base.Add(time.Duration(s * float64(time.Second))))
}

func traceEvent(id string, ts *timestamppb.Timestamp, typ ingestv1.EventType, b *ingestv1.TraceBody) *ingestv1.IngestEvent {
	return &ingestv1.IngestEvent{Id: id, Timestamp: ts, Type: typ, Trace: b}
}

func obsEvent(id string, ts *timestamppb.Timestamp, typ ingestv1.EventType, b *ingestv1.ObservationBody) *ingestv1.IngestEvent {
	return &ingestv1.IngestEvent{Id: id, Timestamp: ts, Type: typ, Observation: b}
}

func scoreEvent(id string, ts *timestamppb.Timestamp, typ ingestv1.EventType, b *ingestv1.ScoreBody) *ingestv1.IngestEvent {
	return &ingestv1.IngestEvent{Id: id, Timestamp: ts, Type: typ, Score: b}
}

const (
	traceCreate = ingestv1.EventType_EVENT_TYPE_TRACE_CREATE
	traceUpdate = ingestv1.EventType_EVENT_TYPE_TRACE_UPDATE
	obsCreate   = ingestv1.EventType_EVENT_TYPE_OBSERVATION_CREATE
	obsUpdate   = ingestv1.EventType_EVENT_TYPE_OBSERVATION_UPDATE
	scoreCreate = ingestv1.EventType_EVENT_TYPE_SCORE_CREATE
)

func value(t *testing.T, v any) *structpb.Value {
	t.Helper()
	out, err := structpb.NewValue(v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func write(t *testing.T, w Writer, projectID string, events ...*ingestv1.IngestEvent) {
	t.Helper()
	if err := w.Write(context.Background(), projectID, events); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// diff compares a read object with the expected one.
func diff[M proto.Message](t *testing.T, what string, got, want M) {
	t.Helper()
	if !proto.Equal(got, want) {
		t.Errorf("%s differs\n got: %s\nwant: %s", what, prototext.Format(got), prototext.Format(want))
	}
}

// diffAll compares read lists, in order.
func diffAll[M proto.Message](t *testing.T, what string, got, want []M) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: read %d, want %d", what, len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		diff(t, fmt.Sprintf("%s[%d]", what, i), got[i], want[i])
	}
}

func readTrace(t *testing.T, r Reader, projectID, id string) *commonv1.Trace {
	t.Helper()
	tr, found, err := r.Trace(context.Background(), projectID, id)
	if err != nil {
		t.Fatalf("read trace: %v", err)
	}
	if !found {
		return nil
	}
	return tr
}

func readObservations(t *testing.T, r Reader, projectID, traceID string) []*commonv1.Observation {
	t.Helper()
	obs, err := r.Observations(context.Background(), projectID, traceID)
	if err != nil {
		t.Fatalf("read observations: %v", err)
	}
	return obs
}

func readScores(t *testing.T, r Reader, projectID, traceID string) []*commonv1.Score {
	t.Helper()
	sc, err := r.Scores(context.Background(), projectID, traceID)
	if err != nil {
		t.Fatalf("read scores: %v", err)
	}
	return sc
}

// fullTrace sets every field of a trace body.
func fullTrace(t *testing.T, id string) *ingestv1.TraceBody {
	return &ingestv1.TraceBody{
		Id: id, Name: proto.String("checkout"), Timestamp: at(1.000000001), UserId: proto.String("user-1"), SessionId: proto.String("sess-1"),
		Tags: []string{"b", "a"}, Metadata: map[string]string{"region": "eu", "tier": "gold"},
		Input:  value(t, map[string]any{"q": "hi", "n": 2.5, "ok": true, "none": nil, "list": []any{1.0, "x"}}),
		Output: value(t, "answer"), Release: proto.String("r1"), Version: proto.String("v1"), Environment: proto.String("prod"),
	}
}

// fullObservation sets every field of an observation body of type typ.
func fullObservation(t *testing.T, traceID, id string, typ commonv1.ObservationType, start float64) *ingestv1.ObservationBody {
	return &ingestv1.ObservationBody{
		Id: id, TraceId: traceID, ParentObservationId: proto.String("root"), Type: typ, Name: proto.String("step-" + id),
		StartTime: at(start), EndTime: at(start + 2.5), CompletionStartTime: at(start + 0.25),
		Level: commonv1.ObservationLevel_OBSERVATION_LEVEL_WARNING, StatusMessage: proto.String("slow"),
		Model: proto.String("gpt-x"), ModelParameters: map[string]string{"temperature": "0.2", "max_tokens": "64"},
		Usage: &commonv1.Usage{Input: proto.Int64(100), Output: proto.Int64(0), Total: proto.Int64(120),
			Details: map[string]int64{"cached_input": 40, "reasoning_output": 0}},
		Cost:  &commonv1.Cost{Input: proto.Float64(0.001), Output: proto.Float64(0), Total: proto.Float64(0.0015)},
		Input: value(t, []any{"prompt"}), Output: value(t, map[string]any{"text": "done"}),
		Metadata: map[string]string{"k": "v"}, Version: proto.String("v2"), Environment: proto.String("prod"),
	}
}

// Cases is the suite's table.
func Cases() []Case {
	return []Case{
		{"every field of a trace", caseTrace},
		{"every field of an observation of each type", caseObservations},
		{"every field of a score of each data type", caseScores},
		{"updates written before their creates", caseUpdateBeforeCreate},
		{"a redelivered event is one version", caseRedelivery},
		{"a project sees only its own rows", caseTenancy},
		{"a deleted trace is gone with its observations and scores", caseDeletion},
		{"retention removes the days before the cutoff only", caseRetention},
	}
}

func caseTrace(t *testing.T, w Writer, r Reader) {
	write(t, w, project, traceEvent("ev-t", at(5), traceCreate, fullTrace(t, "tr")))
	want := &commonv1.Trace{
		Id: "tr", ProjectId: project, Name: "checkout", Timestamp: at(1.000000001), UserId: "user-1", SessionId: "sess-1",
		Tags: []string{"a", "b"}, Metadata: map[string]string{"region": "eu", "tier": "gold"},
		Input:  value(t, map[string]any{"q": "hi", "n": 2.5, "ok": true, "none": nil, "list": []any{1.0, "x"}}),
		Output: value(t, "answer"), Release: "r1", Version: "v1", Environment: "prod", UpdatedAt: at(5),
	}
	diff(t, "trace", readTrace(t, r, project, "tr"), want)
	if got := readTrace(t, r, project, "absent"); got != nil {
		t.Errorf("a trace never written reads as %v", got)
	}
}

func caseObservations(t *testing.T, w Writer, r Reader) {
	var (
		events []*ingestv1.IngestEvent
		want   []*commonv1.Observation
	)
	for n := range commonv1.ObservationType_name {
		typ := commonv1.ObservationType(n)
		if typ == commonv1.ObservationType_OBSERVATION_TYPE_UNSPECIFIED {
			continue
		}
		id := fmt.Sprintf("ob-%02d", n)
		start := float64(n)
		events = append(events, obsEvent("ev-"+id, at(50), obsCreate, fullObservation(t, "tr", id, typ, start)))
	}
	// Observations come back by start time: the type numbers.
	for n := 1; n < len(commonv1.ObservationType_name); n++ {
		id := fmt.Sprintf("ob-%02d", n)
		start := float64(n)
		want = append(want, &commonv1.Observation{
			Id: id, ProjectId: project, TraceId: "tr", ParentObservationId: "root", Type: commonv1.ObservationType(n),
			Name: "step-" + id, StartTime: at(start), EndTime: at(start + 2.5), CompletionStartTime: at(start + 0.25),
			Level: commonv1.ObservationLevel_OBSERVATION_LEVEL_WARNING, StatusMessage: "slow", Model: "gpt-x",
			ModelParameters: map[string]string{"temperature": "0.2", "max_tokens": "64"},
			Usage: &commonv1.Usage{Input: proto.Int64(100), Output: proto.Int64(0), Total: proto.Int64(120),
				Details: map[string]int64{"cached_input": 40, "reasoning_output": 0}},
			Cost:  &commonv1.Cost{Input: proto.Float64(0.001), Output: proto.Float64(0), Total: proto.Float64(0.0015)},
			Input: value(t, []any{"prompt"}), Output: value(t, map[string]any{"text": "done"}),
			Metadata: map[string]string{"k": "v"}, Version: "v2", Environment: "prod", UpdatedAt: at(50),
		})
	}
	// A bare observation: nothing but its ids, so every optional field
	// reads as unset (nil usage and cost, not zeros).
	events = append(events, obsEvent("ev-bare", at(60), obsCreate, &ingestv1.ObservationBody{Id: "bare", TraceId: "tr"}))
	want = append([]*commonv1.Observation{{Id: "bare", ProjectId: project, TraceId: "tr", UpdatedAt: at(60)}}, want...)
	// Usage without a total: the effective total is input + output.
	events = append(events, obsEvent("ev-sum", at(61), obsCreate, &ingestv1.ObservationBody{
		Id: "sum", TraceId: "tr", StartTime: at(99), Usage: &commonv1.Usage{Input: proto.Int64(7), Output: proto.Int64(5)}}))
	want = append(want, &commonv1.Observation{Id: "sum", ProjectId: project, TraceId: "tr", StartTime: at(99),
		Usage: &commonv1.Usage{Input: proto.Int64(7), Output: proto.Int64(5), Total: proto.Int64(12)}, UpdatedAt: at(61)})
	write(t, w, project, events...)
	diffAll(t, "observations", readObservations(t, r, project, "tr"), want)
}

func caseScores(t *testing.T, w Writer, r Reader) {
	type kind struct {
		typ    commonv1.ScoreDataType
		value  *float64
		str    *string
		source commonv1.ScoreSource
	}
	kinds := []kind{
		{commonv1.ScoreDataType_SCORE_DATA_TYPE_NUMERIC, proto.Float64(0.75), nil, commonv1.ScoreSource_SCORE_SOURCE_API},
		{commonv1.ScoreDataType_SCORE_DATA_TYPE_CATEGORICAL, nil, proto.String("good"), commonv1.ScoreSource_SCORE_SOURCE_EVAL},
		{commonv1.ScoreDataType_SCORE_DATA_TYPE_BOOLEAN, proto.Float64(1), proto.String("True"), commonv1.ScoreSource_SCORE_SOURCE_ANNOTATION},
		{commonv1.ScoreDataType_SCORE_DATA_TYPE_NUMERIC, proto.Float64(0), nil, commonv1.ScoreSource_SCORE_SOURCE_API}, // a zero value is a value
	}
	var (
		events []*ingestv1.IngestEvent
		want   []*commonv1.Score
	)
	for i, k := range kinds {
		id := fmt.Sprintf("sc-%d", i)
		events = append(events, scoreEvent("ev-"+id, at(70), scoreCreate, &ingestv1.ScoreBody{
			Id: id, TraceId: "tr", ObservationId: proto.String("ob"), SessionId: proto.String("sess-1"), Name: proto.String("quality"), DataType: k.typ,
			Value: k.value, StringValue: k.str, Comment: proto.String("c" + id), Source: k.source, Timestamp: at(float64(i)),
			Metadata: map[string]string{"by": "judge"}, Environment: proto.String("prod"),
		}))
		s := &commonv1.Score{Id: id, ProjectId: project, TraceId: "tr", ObservationId: "ob", SessionId: "sess-1",
			Name: "quality", DataType: k.typ, StringValue: orEmpty(k.str), Comment: "c" + id, Source: k.source,
			Timestamp: at(float64(i)), Metadata: map[string]string{"by": "judge"}, Environment: "prod", UpdatedAt: at(70)}
		if k.value != nil {
			s.Value = *k.value
		}
		want = append(want, s)
	}
	write(t, w, project, events...)
	diffAll(t, "scores", readScores(t, r, project, "tr"), want)
}

func orEmpty(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
