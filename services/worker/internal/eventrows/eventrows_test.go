package eventrows_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/agenttrace/agenttrace/pkg/chschema"
	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	"github.com/agenttrace/agenttrace/services/worker/internal/eventrows"
)

var (
	t0       = time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)
	t0ns     = uint64(t0.UnixNano())
	received = t0.Add(time.Second)
)

func ts(d time.Duration) *timestamppb.Timestamp { return timestamppb.New(t0.Add(d)) }
func ns(d time.Duration) uint64                 { return uint64(t0.Add(d).UnixNano()) }

func envelope(events ...*ingestv1.IngestEvent) *ingestv1.EventEnvelope {
	return &ingestv1.EventEnvelope{ProjectId: "proj-1", ReceivedAt: timestamppb.New(received), Events: events}
}

func structValue(t *testing.T, v any) *structpb.Value {
	t.Helper()
	sv, err := structpb.NewValue(v)
	if err != nil {
		t.Fatal(err)
	}
	return sv
}

func TestFromEnvelopeMapsEveryField(t *testing.T) {
	tests := []struct {
		name  string
		event *ingestv1.IngestEvent
		want  eventrows.Batch
	}{
		{
			name: "trace create with every field",
			event: &ingestv1.IngestEvent{
				Id: "ev-1", Timestamp: ts(0), Type: ingestv1.EventType_EVENT_TYPE_TRACE_CREATE,
				Trace: &ingestv1.TraceBody{
					Id: "tr-1", Name: proto.String("agent run"), Timestamp: ts(-time.Minute),
					UserId: proto.String("u-1"), SessionId: proto.String("s-1"), Tags: []string{"b", "a"},
					Metadata: map[string]string{"z": "26", "a": "1"},
					Input:    structValue(t, map[string]any{"q": "hi", "n": 2.5}), Output: structValue(t, "done"),
					Release: proto.String("r1"), Version: proto.String("v1"), Environment: proto.String("prod"),
				},
			},
			want: eventrows.Batch{Traces: []chschema.Trace{{
				ProjectID: "proj-1", ID: "tr-1", Timestamp: ns(-time.Minute), Name: "agent run",
				UserID: "u-1", SessionID: "s-1", Tags: []string{"b", "a"},
				MetadataKeys: []string{"a", "z"}, MetadataValues: []string{"1", "26"},
				Input: `{"n":2.5,"q":"hi"}`, Output: `"done"`,
				Release: "r1", Version: "v1", Environment: "prod", EventID: "ev-1", EventTS: t0ns,
			}}},
		},
		{
			name: "trace update sets only its fields; no event timestamp falls back to received_at",
			event: &ingestv1.IngestEvent{
				Id: "ev-2", Type: ingestv1.EventType_EVENT_TYPE_TRACE_UPDATE,
				Trace: &ingestv1.TraceBody{Id: "tr-1", Output: structValue(t, nil)},
			},
			want: eventrows.Batch{Traces: []chschema.Trace{{
				ProjectID: "proj-1", ID: "tr-1", Tags: []string{}, MetadataKeys: []string{}, MetadataValues: []string{},
				Output: "null", EventID: "ev-2", EventTS: uint64(received.UnixNano()),
			}}},
		},
		{
			name: "generation with every field",
			event: &ingestv1.IngestEvent{
				Id: "ev-3", Timestamp: ts(time.Second), Type: ingestv1.EventType_EVENT_TYPE_OBSERVATION_CREATE,
				Observation: &ingestv1.ObservationBody{
					Id: "ob-1", TraceId: "tr-1", ParentObservationId: proto.String("ob-0"),
					Type: commonv1.ObservationType_OBSERVATION_TYPE_GENERATION, Name: proto.String("llm"),
					StartTime: ts(time.Second), EndTime: ts(2 * time.Second), CompletionStartTime: ts(1500 * time.Millisecond),
					Level: commonv1.ObservationLevel_OBSERVATION_LEVEL_ERROR, StatusMessage: proto.String("boom"),
					Model: proto.String("gpt-4o"), ModelParameters: map[string]string{"temperature": "0.2", "max_tokens": "10"},
					Usage: &commonv1.Usage{Input: proto.Int64(10), Output: proto.Int64(0), Total: proto.Int64(10),
						Details: map[string]int64{"cached_input": 4}},
					Cost:  &commonv1.Cost{Input: proto.Float64(0.5), Output: proto.Float64(0), Total: proto.Float64(0.5)},
					Input: structValue(t, []any{"a", 1.0}), Output: structValue(t, true),
					Metadata: map[string]string{"k": "v"}, Version: proto.String("v2"), Environment: proto.String("dev"),
				},
			},
			want: eventrows.Batch{Observations: []chschema.Observation{{
				ProjectID: "proj-1", TraceID: "tr-1", ID: "ob-1", ParentObservationID: "ob-0", Type: "GENERATION", Name: "llm",
				StartTime: ns(time.Second), EndTime: ns(2 * time.Second), CompletionStartTime: ns(1500 * time.Millisecond),
				Level: "ERROR", StatusMessage: "boom", Model: "gpt-4o",
				ModelParametersKeys: []string{"max_tokens", "temperature"}, ModelParametersValues: []string{"10", "0.2"},
				UsageInput: proto.Int64(10), UsageOutput: proto.Int64(0), UsageTotal: proto.Int64(10),
				UsageDetailsKeys: []string{"cached_input"}, UsageDetailsValues: []int64{4},
				CostInput: proto.Float64(0.5), CostOutput: proto.Float64(0), CostTotal: proto.Float64(0.5),
				Input: `["a",1]`, Output: "true", MetadataKeys: []string{"k"}, MetadataValues: []string{"v"},
				Version: "v2", Environment: "dev", EventID: "ev-3", EventTS: ns(time.Second),
			}}},
		},
		{
			name: "observation update leaves unset fields empty and NULL",
			event: &ingestv1.IngestEvent{
				Id: "ev-4", Timestamp: ts(3 * time.Second), Type: ingestv1.EventType_EVENT_TYPE_OBSERVATION_UPDATE,
				Observation: &ingestv1.ObservationBody{Id: "ob-1", TraceId: "tr-1", EndTime: ts(3 * time.Second)},
			},
			want: eventrows.Batch{Observations: []chschema.Observation{{
				ProjectID: "proj-1", TraceID: "tr-1", ID: "ob-1", EndTime: ns(3 * time.Second),
				ModelParametersKeys: []string{}, ModelParametersValues: []string{},
				UsageDetailsKeys: []string{}, UsageDetailsValues: []int64{},
				MetadataKeys: []string{}, MetadataValues: []string{},
				EventID: "ev-4", EventTS: ns(3 * time.Second),
			}}},
		},
		{
			name: "score with every field",
			event: &ingestv1.IngestEvent{
				Id: "ev-5", Timestamp: ts(0), Type: ingestv1.EventType_EVENT_TYPE_SCORE_CREATE,
				Score: &ingestv1.ScoreBody{
					Id: "sc-1", TraceId: "tr-1", ObservationId: proto.String("ob-1"), SessionId: proto.String("s-1"),
					Name: proto.String("quality"), DataType: commonv1.ScoreDataType_SCORE_DATA_TYPE_NUMERIC,
					Value: proto.Float64(0), StringValue: proto.String("good"), Comment: proto.String("ok"),
					Source: commonv1.ScoreSource_SCORE_SOURCE_API, Timestamp: ts(time.Hour),
					Metadata: map[string]string{"m": "1"}, Environment: proto.String("prod"),
				},
			},
			want: eventrows.Batch{Scores: []chschema.Score{{
				ProjectID: "proj-1", ID: "sc-1", TraceID: "tr-1", ObservationID: "ob-1", SessionID: "s-1",
				Name: "quality", DataType: "NUMERIC", Value: proto.Float64(0), StringValue: "good", Comment: "ok",
				Source: "API", Timestamp: ns(time.Hour), MetadataKeys: []string{"m"}, MetadataValues: []string{"1"},
				Environment: "prod", EventID: "ev-5", EventTS: t0ns,
			}}},
		},
		{
			name: "session score update without value",
			event: &ingestv1.IngestEvent{
				Id: "ev-6", Timestamp: ts(0), Type: ingestv1.EventType_EVENT_TYPE_SCORE_UPDATE,
				Score: &ingestv1.ScoreBody{Id: "sc-2", SessionId: proto.String("s-1"),
					DataType: commonv1.ScoreDataType_SCORE_DATA_TYPE_CATEGORICAL, Source: commonv1.ScoreSource_SCORE_SOURCE_ANNOTATION},
			},
			want: eventrows.Batch{Scores: []chschema.Score{{
				ProjectID: "proj-1", ID: "sc-2", SessionID: "s-1", DataType: "CATEGORICAL", Source: "ANNOTATION",
				MetadataKeys: []string{}, MetadataValues: []string{}, EventID: "ev-6", EventTS: t0ns,
			}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := eventrows.FromEnvelope(envelope(tt.event))
			if err != nil {
				t.Fatalf("FromEnvelope: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("rows differ\n got: %+v\nwant: %+v", got, tt.want)
			}
		})
	}
}

func TestFromEnvelopeRejects(t *testing.T) {
	ok := func() *ingestv1.IngestEvent {
		return &ingestv1.IngestEvent{Id: "ev", Timestamp: ts(0), Type: ingestv1.EventType_EVENT_TYPE_TRACE_CREATE,
			Trace: &ingestv1.TraceBody{Id: "tr"}}
	}
	tests := []struct {
		name   string
		mutate func(env *ingestv1.EventEnvelope)
		want   string
	}{
		{"no project", func(e *ingestv1.EventEnvelope) { e.ProjectId = "" }, "no project_id"},
		{"bad received_at", func(e *ingestv1.EventEnvelope) { e.ReceivedAt = &timestamppb.Timestamp{Nanos: -1} }, "received_at"},
		{"no event id", func(e *ingestv1.EventEnvelope) { e.Events[0].Id = "" }, "missing id"},
		{"no timestamp at all", func(e *ingestv1.EventEnvelope) { e.ReceivedAt = nil; e.Events[0].Timestamp = nil }, "no timestamp"},
		{"invalid event timestamp", func(e *ingestv1.EventEnvelope) { e.Events[0].Timestamp = &timestamppb.Timestamp{Nanos: 2e9} }, "timestamp"},
		{"pre-epoch body time", func(e *ingestv1.EventEnvelope) { e.Events[0].Trace.Timestamp = &timestamppb.Timestamp{Seconds: -5} }, "trace.timestamp"},
		{"beyond 2262", func(e *ingestv1.EventEnvelope) { e.Events[0].Timestamp = &timestamppb.Timestamp{Seconds: 1 << 34} }, "outside"},
		{"unspecified type", func(e *ingestv1.EventEnvelope) { e.Events[0].Type = 0 }, "unsupported event type"},
		{"unknown type", func(e *ingestv1.EventEnvelope) { e.Events[0].Type = 99 }, "unsupported event type"},
		{"trace without body", func(e *ingestv1.EventEnvelope) { e.Events[0].Trace = nil }, "without trace body"},
		{"delete without trace", func(e *ingestv1.EventEnvelope) {
			e.Events[0].Type = ingestv1.EventType_EVENT_TYPE_TRACE_DELETE
			e.Events[0].Trace = nil
		}, "without trace.id"},
		{"delete without trace id", func(e *ingestv1.EventEnvelope) {
			e.Events[0].Type = ingestv1.EventType_EVENT_TYPE_TRACE_DELETE
			e.Events[0].Trace.Id = ""
		}, "without trace.id"},
		{"delete mixed with rows", func(e *ingestv1.EventEnvelope) {
			e.Events = append(e.Events, &ingestv1.IngestEvent{Id: "del", Timestamp: ts(0),
				Type: ingestv1.EventType_EVENT_TYPE_TRACE_DELETE, Trace: &ingestv1.TraceBody{Id: "tr"}})
		}, "mixes 1 trace deletions"},
		{"trace without id", func(e *ingestv1.EventEnvelope) { e.Events[0].Trace.Id = "" }, "trace.id"},
		{"bad input value", func(e *ingestv1.EventEnvelope) { e.Events[0].Trace.Input = structpb.NewNumberValue(nan()) }, "trace.input"},
		{"observation without body", func(e *ingestv1.EventEnvelope) {
			e.Events[0].Type = ingestv1.EventType_EVENT_TYPE_OBSERVATION_UPDATE
		}, "without observation body"},
		{"observation without id", func(e *ingestv1.EventEnvelope) {
			e.Events[0].Type = ingestv1.EventType_EVENT_TYPE_OBSERVATION_CREATE
			e.Events[0].Observation = &ingestv1.ObservationBody{TraceId: "tr"}
		}, "observation.id"},
		{"observation without trace", func(e *ingestv1.EventEnvelope) {
			e.Events[0].Type = ingestv1.EventType_EVENT_TYPE_OBSERVATION_CREATE
			e.Events[0].Observation = &ingestv1.ObservationBody{Id: "ob"}
		}, "observation.trace_id"},
		{"unknown observation type", func(e *ingestv1.EventEnvelope) {
			e.Events[0].Type = ingestv1.EventType_EVENT_TYPE_OBSERVATION_CREATE
			e.Events[0].Observation = &ingestv1.ObservationBody{Id: "ob", TraceId: "tr", Type: 42}
		}, "observation.type"},
		{"score without body", func(e *ingestv1.EventEnvelope) {
			e.Events[0].Type = ingestv1.EventType_EVENT_TYPE_SCORE_CREATE
		}, "without score body"},
		{"score without id", func(e *ingestv1.EventEnvelope) {
			e.Events[0].Type = ingestv1.EventType_EVENT_TYPE_SCORE_CREATE
			e.Events[0].Score = &ingestv1.ScoreBody{TraceId: "tr"}
		}, "score.id"},
		{"score without target", func(e *ingestv1.EventEnvelope) {
			e.Events[0].Type = ingestv1.EventType_EVENT_TYPE_SCORE_CREATE
			e.Events[0].Score = &ingestv1.ScoreBody{Id: "sc"}
		}, "neither trace_id nor session_id"},
		{"unknown score source", func(e *ingestv1.EventEnvelope) {
			e.Events[0].Type = ingestv1.EventType_EVENT_TYPE_SCORE_CREATE
			e.Events[0].Score = &ingestv1.ScoreBody{Id: "sc", TraceId: "tr", Source: 7}
		}, "score.source"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := envelope(ok())
			tt.mutate(env)
			_, err := eventrows.FromEnvelope(env)
			if !errors.Is(err, eventrows.ErrUndecodable) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("FromEnvelope = %v, want ErrUndecodable mentioning %q", err, tt.want)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	env := envelope(
		&ingestv1.IngestEvent{Id: "a", Type: ingestv1.EventType_EVENT_TYPE_TRACE_CREATE, Trace: &ingestv1.TraceBody{Id: "tr"}},
		&ingestv1.IngestEvent{Id: "b", Type: ingestv1.EventType_EVENT_TYPE_SCORE_CREATE, Score: &ingestv1.ScoreBody{Id: "s", TraceId: "tr"}},
	)
	raw, err := proto.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := eventrows.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	if msg.ProjectID != "proj-1" || msg.Events != 2 || msg.Rows.Len() != 2 || len(msg.Rows.Traces) != 1 || len(msg.Rows.Scores) != 1 {
		t.Fatalf("Decode = %+v", msg)
	}
	if _, err := eventrows.Decode([]byte{0xff, 0xff}); !errors.Is(err, eventrows.ErrUndecodable) {
		t.Fatalf("Decode(garbage) = %v, want ErrUndecodable", err)
	}
}

func TestDecodeDeletions(t *testing.T) {
	del := func(id, trace string) *ingestv1.IngestEvent {
		return &ingestv1.IngestEvent{Id: id, Timestamp: ts(0), Type: ingestv1.EventType_EVENT_TYPE_TRACE_DELETE,
			Trace: &ingestv1.TraceBody{Id: trace}}
	}
	raw, err := proto.Marshal(envelope(del("d1", "tr-1"), del("d2", "tr-2")))
	if err != nil {
		t.Fatal(err)
	}
	msg, err := eventrows.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := []eventrows.Deletion{{ProjectID: "proj-1", TraceID: "tr-1"}, {ProjectID: "proj-1", TraceID: "tr-2"}}
	if !reflect.DeepEqual(msg.Rows.Deletions, want) || msg.Rows.Rows() != 0 || msg.Rows.Len() != 2 || msg.Events != 2 {
		t.Fatalf("Decode = %+v, want deletions %+v and no rows", msg, want)
	}
}

func TestBatchAppend(t *testing.T) {
	var b eventrows.Batch
	b.Append(eventrows.Batch{Traces: make([]chschema.Trace, 2), Scores: make([]chschema.Score, 1)})
	b.Append(eventrows.Batch{Observations: make([]chschema.Observation, 3)})
	b.Append(eventrows.Batch{Deletions: make([]eventrows.Deletion, 2)})
	if b.Len() != 8 || b.Rows() != 6 || len(b.Traces) != 2 || len(b.Observations) != 3 || len(b.Scores) != 1 || len(b.Deletions) != 2 {
		t.Fatalf("Append = %d/%d/%d/%d", len(b.Traces), len(b.Observations), len(b.Scores), len(b.Deletions))
	}
}

func FuzzDecodeEnvelope(f *testing.F) {
	good, _ := proto.Marshal(envelope(&ingestv1.IngestEvent{
		Id: "ev", Timestamp: ts(0), Type: ingestv1.EventType_EVENT_TYPE_OBSERVATION_CREATE,
		Observation: &ingestv1.ObservationBody{Id: "ob", TraceId: "tr", Usage: &commonv1.Usage{Details: map[string]int64{"x": 1}}},
	}))
	f.Add(good)
	del, _ := proto.Marshal(envelope(&ingestv1.IngestEvent{
		Id: "del", Timestamp: ts(0), Type: ingestv1.EventType_EVENT_TYPE_TRACE_DELETE, Trace: &ingestv1.TraceBody{Id: "tr"},
	}))
	f.Add(del)
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x03, 'a', 'b'})
	f.Add([]byte{0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		msg, err := eventrows.Decode(data)
		if err != nil {
			if !errors.Is(err, eventrows.ErrUndecodable) {
				t.Fatalf("error %v is not ErrUndecodable", err)
			}
			return
		}
		if msg.Rows.Len() != msg.Events || msg.ProjectID == "" || (len(msg.Rows.Deletions) > 0 && msg.Rows.Rows() > 0) {
			t.Fatalf("decoded %d events into %d rows (project %q)", msg.Events, msg.Rows.Len(), msg.ProjectID)
		}
	})
}

func nan() float64 {
	var zero float64
	return zero / zero
}
