package validation

import (
	"math"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func ts(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }

func traceEvent() *ingestv1.IngestEvent {
	return &ingestv1.IngestEvent{
		Id: "evt-trace", Timestamp: ts(t0), Type: ingestv1.EventType_EVENT_TYPE_TRACE_CREATE,
		Trace: &ingestv1.TraceBody{
			Id: "trace-1", Name: proto.String("agent run"), Timestamp: ts(t0),
			UserId: proto.String("user-1"), SessionId: proto.String("session-1"),
			Tags: []string{"prod", "v2"}, Metadata: map[string]string{"k": "v"},
			Input:  structpb.NewStringValue("hello"),
			Output: mustValue(map[string]any{"answer": 42.0, "list": []any{"a", true, nil}}),
		},
	}
}

func observationEvent() *ingestv1.IngestEvent {
	return &ingestv1.IngestEvent{
		Id: "evt-obs", Type: ingestv1.EventType_EVENT_TYPE_OBSERVATION_CREATE,
		Observation: &ingestv1.ObservationBody{
			Id: "obs-1", TraceId: "trace-1", ParentObservationId: proto.String("obs-0"),
			Type: commonv1.ObservationType_OBSERVATION_TYPE_GENERATION, Name: proto.String("llm"),
			StartTime: ts(t0), EndTime: ts(t0.Add(time.Second)), CompletionStartTime: ts(t0.Add(time.Millisecond)),
			Level: commonv1.ObservationLevel_OBSERVATION_LEVEL_DEFAULT, Model: proto.String("gpt-4o"),
			ModelParameters: map[string]string{"temperature": "0.2"},
			Usage:           &commonv1.Usage{Input: proto.Int64(10), Output: proto.Int64(5), Total: proto.Int64(15), Details: map[string]int64{"cached_input": 3}},
			Cost:            &commonv1.Cost{Input: proto.Float64(0.01), Output: proto.Float64(0.02), Total: proto.Float64(0.03)},
		},
	}
}

func scoreEvent() *ingestv1.IngestEvent {
	return &ingestv1.IngestEvent{
		Id: "evt-score", Type: ingestv1.EventType_EVENT_TYPE_SCORE_CREATE,
		Score: &ingestv1.ScoreBody{
			Id: "score-1", TraceId: "trace-1", Name: proto.String("accuracy"),
			DataType: commonv1.ScoreDataType_SCORE_DATA_TYPE_NUMERIC, Value: proto.Float64(0.9),
		},
	}
}

func mustValue(v any) *structpb.Value {
	val, err := structpb.NewValue(v)
	if err != nil {
		panic(err)
	}
	return val
}

func TestEvent(t *testing.T) {
	lim := DefaultLimits()
	tests := []struct {
		name    string
		event   func() *ingestv1.IngestEvent
		field   string // "" with wantErr false: valid
		wantErr bool
		msg     string // substring of the message
	}{
		{name: "valid trace", event: traceEvent},
		{name: "valid observation", event: observationEvent},
		{name: "valid score", event: scoreEvent},
		{name: "nil event", event: func() *ingestv1.IngestEvent { return nil }, wantErr: true, msg: "empty"},

		// event envelope
		{name: "missing id", event: with(traceEvent, func(e *ingestv1.IngestEvent) { e.Id = "" }), field: "id", wantErr: true, msg: "required"},
		{name: "id too long", event: with(traceEvent, func(e *ingestv1.IngestEvent) { e.Id = strings.Repeat("x", 257) }), field: "id", wantErr: true, msg: "at most 256"},
		{name: "id at limit", event: with(traceEvent, func(e *ingestv1.IngestEvent) { e.Id = strings.Repeat("x", 256) })},
		{name: "id with newline", event: with(traceEvent, func(e *ingestv1.IngestEvent) { e.Id = "a\nb" }), field: "id", wantErr: true, msg: "printable"},
		{name: "id with control char", event: with(traceEvent, func(e *ingestv1.IngestEvent) { e.Id = "a\x00b" }), field: "id", wantErr: true, msg: "printable"},
		{name: "id with surrounding space", event: with(traceEvent, func(e *ingestv1.IngestEvent) { e.Id = " a" }), field: "id", wantErr: true, msg: "whitespace"},
		{name: "id invalid utf8", event: with(traceEvent, func(e *ingestv1.IngestEvent) { e.Id = "a\xffb" }), field: "id", wantErr: true, msg: "UTF-8"},
		{name: "id unicode", event: with(traceEvent, func(e *ingestv1.IngestEvent) { e.Id = "événement-1" })},
		{name: "no event timestamp", event: with(traceEvent, func(e *ingestv1.IngestEvent) { e.Timestamp = nil })},
		{name: "event timestamp before 1970", event: with(traceEvent, func(e *ingestv1.IngestEvent) { e.Timestamp = ts(time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC)) }), field: "timestamp", wantErr: true, msg: "out of range"},
		{name: "event timestamp at 1970", event: with(traceEvent, func(e *ingestv1.IngestEvent) { e.Timestamp = ts(time.Unix(0, 0)) })},
		{name: "event timestamp in 2200", event: with(traceEvent, func(e *ingestv1.IngestEvent) { e.Timestamp = ts(time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)) }), field: "timestamp", wantErr: true, msg: "out of range"},
		{name: "event timestamp invalid nanos", event: with(traceEvent, func(e *ingestv1.IngestEvent) { e.Timestamp = &timestamppb.Timestamp{Seconds: 1, Nanos: -1} }), field: "timestamp", wantErr: true, msg: "not a valid"},

		// type and bodies
		{name: "type unspecified", event: with(traceEvent, func(e *ingestv1.IngestEvent) { e.Type = 0 }), field: "type", wantErr: true, msg: "required"},
		{name: "trace delete is internal", event: func() *ingestv1.IngestEvent {
			return &ingestv1.IngestEvent{Id: "d1", Type: ingestv1.EventType_EVENT_TYPE_TRACE_DELETE, Trace: &ingestv1.TraceBody{Id: "t1"}}
		}, field: "type", wantErr: true, msg: "DeleteTrace"},
		{name: "trace delete without body is internal too", event: func() *ingestv1.IngestEvent {
			return &ingestv1.IngestEvent{Id: "d1", Type: ingestv1.EventType_EVENT_TYPE_TRACE_DELETE}
		}, field: "type", wantErr: true, msg: "internal"},
		{name: "type unknown", event: with(traceEvent, func(e *ingestv1.IngestEvent) { e.Type = 99 }), field: "type", wantErr: true, msg: "unknown event type 99"},
		{name: "trace type without body", event: with(traceEvent, func(e *ingestv1.IngestEvent) { e.Trace = nil }), field: "trace", wantErr: true, msg: "required for EVENT_TYPE_TRACE_CREATE"},
		{name: "trace type with observation body", event: with(traceEvent, func(e *ingestv1.IngestEvent) { e.Observation = observationEvent().Observation }), field: "observation", wantErr: true, msg: "must not be set"},
		{name: "observation type with trace body", event: with(observationEvent, func(e *ingestv1.IngestEvent) { e.Observation, e.Trace = nil, traceEvent().Trace }), field: "trace", wantErr: true, msg: "must not be set"},
		{name: "score type with two bodies", event: with(scoreEvent, func(e *ingestv1.IngestEvent) { e.Trace = traceEvent().Trace }), field: "trace", wantErr: true},
		{name: "score update without body", event: with(scoreEvent, func(e *ingestv1.IngestEvent) { e.Type, e.Score = ingestv1.EventType_EVENT_TYPE_SCORE_UPDATE, nil }), field: "score", wantErr: true, msg: "required"},

		// trace
		{name: "trace id missing", event: with(traceEvent, func(e *ingestv1.IngestEvent) { e.Trace.Id = "" }), field: "trace.id", wantErr: true, msg: "required"},
		{name: "trace update minimal", event: with(traceEvent, func(e *ingestv1.IngestEvent) {
			e.Type, e.Trace = ingestv1.EventType_EVENT_TYPE_TRACE_UPDATE, &ingestv1.TraceBody{Id: "trace-1"}
		})},
		{name: "trace timestamp out of range", event: with(traceEvent, func(e *ingestv1.IngestEvent) { e.Trace.Timestamp = &timestamppb.Timestamp{Seconds: -5} }), field: "trace.timestamp", wantErr: true},
		{name: "trace name too long", event: with(traceEvent, func(e *ingestv1.IngestEvent) { e.Trace.Name = proto.String(strings.Repeat("n", 1025)) }), field: "trace.name", wantErr: true},
		{name: "trace user id not printable", event: with(traceEvent, func(e *ingestv1.IngestEvent) { e.Trace.UserId = proto.String("u\t1") }), field: "trace.user_id", wantErr: true},
		{name: "trace too many tags", event: with(traceEvent, func(e *ingestv1.IngestEvent) { e.Trace.Tags = make([]string, 101) }), field: "trace.tags", wantErr: true, msg: "at most 100"},
		{name: "trace empty tag", event: with(traceEvent, func(e *ingestv1.IngestEvent) { e.Trace.Tags = []string{"a", ""} }), field: "trace.tags", wantErr: true, msg: "tag 1 is empty"},
		{name: "trace metadata empty key", event: with(traceEvent, func(e *ingestv1.IngestEvent) { e.Trace.Metadata = map[string]string{"": "v"} }), field: "trace.metadata", wantErr: true, msg: "keys must not be empty"},
		{name: "trace metadata value too long", event: with(traceEvent, func(e *ingestv1.IngestEvent) {
			e.Trace.Metadata = map[string]string{"k": strings.Repeat("v", 64<<10+1)}
		}), field: "trace.metadata", wantErr: true},
		{name: "trace metadata too many entries", event: with(traceEvent, func(e *ingestv1.IngestEvent) {
			e.Trace.Metadata = map[string]string{}
			for i := range 257 {
				e.Trace.Metadata[strings.Repeat("k", i+1)] = "v"
			}
		}), field: "trace.metadata", wantErr: true, msg: "at most 256"},
		{name: "trace input NaN", event: with(traceEvent, func(e *ingestv1.IngestEvent) { e.Trace.Input = structpb.NewNumberValue(math.NaN()) }), field: "trace.input", wantErr: true, msg: "finite"},
		{name: "trace output nested NaN", event: with(traceEvent, func(e *ingestv1.IngestEvent) {
			e.Trace.Output = structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{structpb.NewNumberValue(math.Inf(1))}})
		}), field: "trace.output", wantErr: true, msg: "finite"},
		{name: "trace input no kind", event: with(traceEvent, func(e *ingestv1.IngestEvent) { e.Trace.Input = &structpb.Value{} }), field: "trace.input", wantErr: true, msg: "no kind"},
		{name: "trace input too deep", event: with(traceEvent, func(e *ingestv1.IngestEvent) {
			v := structpb.NewNullValue()
			for range 70 {
				v = structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{v}})
			}
			e.Trace.Input = v
		}), field: "trace.input", wantErr: true, msg: "too deeply"},
		{name: "trace input bad utf8 string", event: with(traceEvent, func(e *ingestv1.IngestEvent) { e.Trace.Input = structpb.NewStringValue("\xff") }), field: "trace.input", wantErr: true, msg: "UTF-8"},
		{name: "trace environment bad utf8", event: with(traceEvent, func(e *ingestv1.IngestEvent) { e.Trace.Environment = proto.String("\xfe") }), field: "trace.environment", wantErr: true, msg: "UTF-8"},

		// observation
		{name: "observation id missing", event: with(observationEvent, func(e *ingestv1.IngestEvent) { e.Observation.Id = "" }), field: "observation.id", wantErr: true},
		{name: "observation trace id missing", event: with(observationEvent, func(e *ingestv1.IngestEvent) { e.Observation.TraceId = "" }), field: "observation.trace_id", wantErr: true, msg: "required"},
		{name: "observation update trace id missing", event: with(observationEvent, func(e *ingestv1.IngestEvent) {
			e.Type, e.Observation.TraceId = ingestv1.EventType_EVENT_TYPE_OBSERVATION_UPDATE, ""
		}), field: "observation.trace_id", wantErr: true},
		{name: "observation own parent", event: with(observationEvent, func(e *ingestv1.IngestEvent) { e.Observation.ParentObservationId = proto.String("obs-1") }), field: "observation.parent_observation_id", wantErr: true},
		{name: "observation create without type", event: with(observationEvent, func(e *ingestv1.IngestEvent) { e.Observation.Type = 0 }), field: "observation.type", wantErr: true, msg: "OBSERVATION_TYPE_GENERATION"},
		{name: "observation update without type", event: with(observationEvent, func(e *ingestv1.IngestEvent) {
			e.Type, e.Observation = ingestv1.EventType_EVENT_TYPE_OBSERVATION_UPDATE, &ingestv1.ObservationBody{Id: "obs-1", TraceId: "trace-1", EndTime: ts(t0)}
		})},
		{name: "observation update unknown type", event: with(observationEvent, func(e *ingestv1.IngestEvent) {
			e.Type, e.Observation.Type = ingestv1.EventType_EVENT_TYPE_OBSERVATION_UPDATE, 42
		}), field: "observation.type", wantErr: true, msg: "unknown value 42"},
		{name: "observation unknown level", event: with(observationEvent, func(e *ingestv1.IngestEvent) { e.Observation.Level = 9 }), field: "observation.level", wantErr: true},
		{name: "observation end before start", event: with(observationEvent, func(e *ingestv1.IngestEvent) { e.Observation.EndTime = ts(t0.Add(-time.Nanosecond)) }), field: "observation.end_time", wantErr: true, msg: "start_time"},
		{name: "observation end equals start", event: with(observationEvent, func(e *ingestv1.IngestEvent) { e.Observation.EndTime = ts(t0) })},
		{name: "observation end without start", event: with(observationEvent, func(e *ingestv1.IngestEvent) { e.Observation.StartTime, e.Observation.CompletionStartTime = nil, nil })},
		{name: "observation completion before start", event: with(observationEvent, func(e *ingestv1.IngestEvent) { e.Observation.CompletionStartTime = ts(t0.Add(-time.Second)) }), field: "observation.completion_start_time", wantErr: true},
		{name: "observation start out of range", event: with(observationEvent, func(e *ingestv1.IngestEvent) {
			e.Observation.StartTime = ts(time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC))
		}), field: "observation.start_time", wantErr: true},
		{name: "observation negative usage", event: with(observationEvent, func(e *ingestv1.IngestEvent) { e.Observation.Usage.Output = proto.Int64(-1) }), field: "observation.usage.output", wantErr: true, msg: "negative"},
		{name: "observation negative usage detail", event: with(observationEvent, func(e *ingestv1.IngestEvent) { e.Observation.Usage.Details["cached_input"] = -3 }), field: "observation.usage.details", wantErr: true, msg: "negative"},
		{name: "observation zero usage", event: with(observationEvent, func(e *ingestv1.IngestEvent) { e.Observation.Usage = &commonv1.Usage{Input: proto.Int64(0)} })},
		{name: "observation negative cost", event: with(observationEvent, func(e *ingestv1.IngestEvent) { e.Observation.Cost.Total = proto.Float64(-0.5) }), field: "observation.cost.total", wantErr: true, msg: "negative"},
		{name: "observation infinite cost", event: with(observationEvent, func(e *ingestv1.IngestEvent) { e.Observation.Cost.Input = proto.Float64(math.Inf(1)) }), field: "observation.cost.input", wantErr: true, msg: "finite"},
		{name: "observation NaN cost", event: with(observationEvent, func(e *ingestv1.IngestEvent) { e.Observation.Cost.Output = proto.Float64(math.NaN()) }), field: "observation.cost.output", wantErr: true, msg: "finite"},
		{name: "observation status message too long", event: with(observationEvent, func(e *ingestv1.IngestEvent) {
			e.Observation.StatusMessage = proto.String(strings.Repeat("s", 64<<10+1))
		}), field: "observation.status_message", wantErr: true},
		{name: "observation model parameters key too long", event: with(observationEvent, func(e *ingestv1.IngestEvent) {
			e.Observation.ModelParameters = map[string]string{strings.Repeat("k", 1025): "v"}
		}), field: "observation.model_parameters", wantErr: true},

		// score
		{name: "score id missing", event: with(scoreEvent, func(e *ingestv1.IngestEvent) { e.Score.Id = "" }), field: "score.id", wantErr: true},
		{name: "score without trace or session", event: with(scoreEvent, func(e *ingestv1.IngestEvent) { e.Score.TraceId = "" }), field: "score.trace_id", wantErr: true, msg: "session_id"},
		{name: "score on session", event: with(scoreEvent, func(e *ingestv1.IngestEvent) { e.Score.TraceId, e.Score.SessionId = "", proto.String("session-1") })},
		{name: "score on observation without trace", event: with(scoreEvent, func(e *ingestv1.IngestEvent) {
			e.Score.TraceId, e.Score.SessionId, e.Score.ObservationId = "", proto.String("s"), proto.String("obs-1")
		}), field: "score.trace_id", wantErr: true, msg: "observation_id"},
		{name: "score create without name", event: with(scoreEvent, func(e *ingestv1.IngestEvent) { e.Score.Name = nil }), field: "score.name", wantErr: true},
		{name: "score update without name", event: with(scoreEvent, func(e *ingestv1.IngestEvent) {
			e.Type, e.Score = ingestv1.EventType_EVENT_TYPE_SCORE_UPDATE, &ingestv1.ScoreBody{Id: "score-1", TraceId: "trace-1", Comment: proto.String("ok")}
		})},
		{name: "score numeric without value", event: with(scoreEvent, func(e *ingestv1.IngestEvent) { e.Score.Value = nil }), field: "score.value", wantErr: true, msg: "NUMERIC"},
		{name: "score numeric NaN", event: with(scoreEvent, func(e *ingestv1.IngestEvent) { e.Score.Value = proto.Float64(math.NaN()) }), field: "score.value", wantErr: true, msg: "finite"},
		{name: "score numeric negative", event: with(scoreEvent, func(e *ingestv1.IngestEvent) { e.Score.Value = proto.Float64(-3) })},
		{name: "score boolean 1", event: with(scoreEvent, func(e *ingestv1.IngestEvent) {
			e.Score.DataType, e.Score.Value = commonv1.ScoreDataType_SCORE_DATA_TYPE_BOOLEAN, proto.Float64(1)
		})},
		{name: "score boolean 0", event: with(scoreEvent, func(e *ingestv1.IngestEvent) {
			e.Score.DataType, e.Score.Value = commonv1.ScoreDataType_SCORE_DATA_TYPE_BOOLEAN, proto.Float64(0)
		})},
		{name: "score boolean 0.5", event: with(scoreEvent, func(e *ingestv1.IngestEvent) {
			e.Score.DataType, e.Score.Value = commonv1.ScoreDataType_SCORE_DATA_TYPE_BOOLEAN, proto.Float64(0.5)
		}), field: "score.value", wantErr: true, msg: "0 or 1"},
		{name: "score boolean missing", event: with(scoreEvent, func(e *ingestv1.IngestEvent) {
			e.Score.DataType, e.Score.Value = commonv1.ScoreDataType_SCORE_DATA_TYPE_BOOLEAN, nil
		}), field: "score.value", wantErr: true},
		{name: "score categorical", event: with(scoreEvent, func(e *ingestv1.IngestEvent) {
			e.Score.DataType, e.Score.Value, e.Score.StringValue = commonv1.ScoreDataType_SCORE_DATA_TYPE_CATEGORICAL, nil, proto.String("good")
		})},
		{name: "score categorical without string", event: with(scoreEvent, func(e *ingestv1.IngestEvent) { e.Score.DataType = commonv1.ScoreDataType_SCORE_DATA_TYPE_CATEGORICAL }), field: "score.string_value", wantErr: true},
		{name: "score inferred numeric", event: with(scoreEvent, func(e *ingestv1.IngestEvent) { e.Score.DataType = 0 })},
		{name: "score create without any value", event: with(scoreEvent, func(e *ingestv1.IngestEvent) { e.Score.DataType, e.Score.Value = 0, nil }), field: "score.value", wantErr: true},
		{name: "score unknown data type", event: with(scoreEvent, func(e *ingestv1.IngestEvent) { e.Score.DataType = 7 }), field: "score.data_type", wantErr: true},
		{name: "score unknown source", event: with(scoreEvent, func(e *ingestv1.IngestEvent) { e.Score.Source = 7 }), field: "score.source", wantErr: true},
		{name: "score timestamp out of range", event: with(scoreEvent, func(e *ingestv1.IngestEvent) { e.Score.Timestamp = &timestamppb.Timestamp{Seconds: math.MaxInt32 * 10} }), field: "score.timestamp", wantErr: true},
		{name: "score comment bad utf8", event: with(scoreEvent, func(e *ingestv1.IngestEvent) { e.Score.Comment = proto.String("\xc3") }), field: "score.comment", wantErr: true},

		// size
		{name: "observation input too large", event: with(observationEvent, func(e *ingestv1.IngestEvent) {
			e.Observation.Input = structpb.NewStringValue(strings.Repeat("p", 961<<10))
		}), field: "observation.input", wantErr: true, msg: "over the limit"},
		{name: "trace output too large", event: with(traceEvent, func(e *ingestv1.IngestEvent) { e.Trace.Output = structpb.NewStringValue(strings.Repeat("p", 961<<10)) }), field: "trace.output", wantErr: true},
		{name: "observation too large overall", event: with(observationEvent, func(e *ingestv1.IngestEvent) {
			e.Observation.Metadata = map[string]string{}
			for i := range 20 {
				e.Observation.Metadata[strings.Repeat("k", i+1)] = strings.Repeat("v", 60<<10)
			}
		}), field: "observation", wantErr: true, msg: "over the limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := tt.event()
			before := proto.Clone(ev)
			err := Event(ev, lim)
			if !proto.Equal(before, ev) {
				t.Error("Event modified its argument")
			}
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("Event() = %v, want valid", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Event() = valid, want an error on field %q", tt.field)
			}
			if err.Field != tt.field {
				t.Errorf("field = %q, want %q (message %q)", err.Field, tt.field, err.Message)
			}
			if !strings.Contains(err.Message, tt.msg) {
				t.Errorf("message = %q, want it to mention %q", err.Message, tt.msg)
			}
		})
	}
}

// with returns a constructor of base() changed by mut.
func with(base func() *ingestv1.IngestEvent, mut func(*ingestv1.IngestEvent)) func() *ingestv1.IngestEvent {
	return func() *ingestv1.IngestEvent {
		e := base()
		mut(e)
		return e
	}
}

func TestBatch(t *testing.T) {
	withID := func(base func() *ingestv1.IngestEvent, id string) *ingestv1.IngestEvent {
		e := base()
		e.Id = id
		return e
	}
	invalid := withID(scoreEvent, "a")
	invalid.Score.Name = nil
	tests := []struct {
		name   string
		events []*ingestv1.IngestEvent
		want   []string // per event: "" valid, else "field: message substring"
	}{
		{"empty", nil, []string{}},
		{"all distinct", []*ingestv1.IngestEvent{withID(traceEvent, "a"), withID(observationEvent, "b"), withID(scoreEvent, "c")}, []string{"", "", ""}},
		{"duplicate keeps first", []*ingestv1.IngestEvent{withID(traceEvent, "a"), withID(observationEvent, "b"), withID(scoreEvent, "a"), withID(scoreEvent, "a")},
			[]string{"", "", "id: duplicate of event 0", "id: duplicate of event 0"}},
		{"invalid first still owns its id", []*ingestv1.IngestEvent{invalid, withID(traceEvent, "a")}, []string{"score.name: required", "id: duplicate of event 0"}},
		{"own error wins over duplicate", []*ingestv1.IngestEvent{withID(traceEvent, "a"), invalid}, []string{"", "score.name: required"}},
		{"missing ids are not duplicates", []*ingestv1.IngestEvent{withID(traceEvent, ""), withID(traceEvent, "")}, []string{"id: required", "id: required"}},
		{"nil event", []*ingestv1.IngestEvent{nil, withID(traceEvent, "a")}, []string{"empty", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Batch(tt.events, DefaultLimits())
			if len(got) != len(tt.want) {
				t.Fatalf("got %d results, want %d", len(got), len(tt.want))
			}
			for i, w := range tt.want {
				switch {
				case w == "" && got[i] != nil:
					t.Errorf("event %d: got %v, want valid", i, got[i])
				case w != "" && (got[i] == nil || !strings.Contains(got[i].Error(), w)):
					t.Errorf("event %d: got %v, want %q", i, got[i], w)
				}
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	if got := (&Error{Field: "score.value", Message: "required"}).Error(); got != "score.value: required" {
		t.Errorf("got %q", got)
	}
	if got := (&Error{Message: "event is empty"}).Error(); got != "event is empty" {
		t.Errorf("got %q", got)
	}
}

func TestTraceID(t *testing.T) {
	lim := DefaultLimits()
	tests := []struct {
		id  string
		msg string // "" when valid
	}{
		{"trace-1", ""},
		{"", "required"},
		{"a\nb", "printable"},
		{strings.Repeat("x", 257), "at most 256"},
		{" x", "whitespace"},
		{"\xff", "UTF-8"},
	}
	for _, tt := range tests {
		err := TraceID("trace_id", tt.id, lim)
		switch {
		case tt.msg == "" && err != nil:
			t.Errorf("TraceID(%q) = %v, want valid", tt.id, err)
		case tt.msg != "" && (err == nil || err.Field != "trace_id" || !strings.Contains(err.Message, tt.msg)):
			t.Errorf("TraceID(%q) = %v, want trace_id: ...%s...", tt.id, err, tt.msg)
		}
	}
}

func TestWellFormedID(t *testing.T) {
	lim := DefaultLimits()
	tests := []struct {
		id   string
		want bool
	}{
		{"evt-1", true},
		{"", false},
		{"a\nb", false},
		{strings.Repeat("x", 257), false},
		{" x", false},
	}
	for _, tt := range tests {
		if got := WellFormedID(tt.id, lim); got != tt.want {
			t.Errorf("WellFormedID(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}
