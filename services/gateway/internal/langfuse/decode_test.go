package langfuse

import (
	"encoding/json"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
)

func ts(s string) *timestamppb.Timestamp {
	t, ok := parseTime(s)
	if !ok {
		panic(s)
	}
	return timestamppb.New(t)
}

func ptr[T any](v T) *T { return &v }

const evTS = "2024-05-01T12:00:00.000Z"

// event wraps a body in a Langfuse event envelope.
func event(id, typ, body string) string {
	return `{"id":"` + id + `","type":"` + typ + `","timestamp":"` + evTS + `","body":` + body + `}`
}

func decodeOne(t *testing.T, raw string) item {
	t.Helper()
	b, err := decodeBatch([]byte(`{"batch":[` + raw + `]}`))
	if err != nil {
		t.Fatalf("decodeBatch: %v", err)
	}
	if len(b.items) != 1 {
		t.Fatalf("got %d items", len(b.items))
	}
	return b.items[0]
}

func TestDecodeEventTypes(t *testing.T) {
	at := ts(evTS)
	tests := []struct {
		name string
		raw  string
		want []*ingestv1.IngestEvent
	}{
		{
			name: "trace-create",
			raw: event("e1", "trace-create", `{"id":"t1","name":"chat","timestamp":"2024-05-01T11:59:59.5Z","userId":"u1","sessionId":"s1",
				"tags":["a","b"],"metadata":{"k":"v","n":1,"o":{"x":[1,2]},"nil":null},"input":{"q":"hi"},"output":"hello",
				"release":"r1","version":"v1","environment":"prod","public":true,"externalId":"ext"}`),
			want: []*ingestv1.IngestEvent{{Id: "e1", Timestamp: at, Type: ingestv1.EventType_EVENT_TYPE_TRACE_CREATE, Trace: &ingestv1.TraceBody{
				Id: "t1", Name: ptr("chat"), Timestamp: ts("2024-05-01T11:59:59.5Z"), UserId: ptr("u1"), SessionId: ptr("s1"),
				Tags:     []string{"a", "b"},
				Metadata: map[string]string{"k": "v", "n": "1", "o": `{"x":[1,2]}`, metaExternalID: "ext"},
				Input:    mustValue(map[string]any{"q": "hi"}), Output: structpb.NewStringValue("hello"),
				Release: ptr("r1"), Version: ptr("v1"), Environment: ptr("prod"),
			}}},
		},
		{
			name: "trace-create without body id takes the event id",
			raw:  event("e2", "trace-create", `{"metadata":["not","an","object"]}`),
			want: []*ingestv1.IngestEvent{{Id: "e2", Timestamp: at, Type: ingestv1.EventType_EVENT_TYPE_TRACE_CREATE, Trace: &ingestv1.TraceBody{
				Id: "e2", Metadata: map[string]string{"metadata": `["not","an","object"]`},
			}}},
		},
		{
			name: "span-create",
			raw: event("e3", "span-create", `{"id":"o1","traceId":"t1","name":"retrieve","startTime":"2024-05-01T12:00:00Z","endTime":"2024-05-01T12:00:01Z",
				"parentObservationId":"p1","level":"WARNING","statusMessage":"slow","version":"v2","environment":"prod","input":[1,"two"],"output":null}`),
			want: []*ingestv1.IngestEvent{{Id: "e3", Timestamp: at, Type: ingestv1.EventType_EVENT_TYPE_OBSERVATION_CREATE, Observation: &ingestv1.ObservationBody{
				Id: "o1", TraceId: "t1", Type: commonv1.ObservationType_OBSERVATION_TYPE_SPAN, Name: ptr("retrieve"),
				StartTime: ts("2024-05-01T12:00:00Z"), EndTime: ts("2024-05-01T12:00:01Z"), ParentObservationId: ptr("p1"),
				Level: commonv1.ObservationLevel_OBSERVATION_LEVEL_WARNING, StatusMessage: ptr("slow"), Version: ptr("v2"),
				Environment: ptr("prod"), Input: mustValue([]any{1.0, "two"}),
			}}},
		},
		{
			name: "span-update leaves the type unset",
			raw:  event("e4", "span-update", `{"id":"o1","traceId":"t1","endTime":"2024-05-01T12:00:02Z","output":{"ok":true}}`),
			want: []*ingestv1.IngestEvent{{Id: "e4", Timestamp: at, Type: ingestv1.EventType_EVENT_TYPE_OBSERVATION_UPDATE, Observation: &ingestv1.ObservationBody{
				Id: "o1", TraceId: "t1", EndTime: ts("2024-05-01T12:00:02Z"), Output: mustValue(map[string]any{"ok": true}),
			}}},
		},
		{
			name: "generation-create with usage, OpenAI names, costs, model parameters and prompt",
			raw: event("e5", "generation-create", `{"id":"g1","traceId":"t1","model":"gpt-4o","completionStartTime":"2024-05-01T12:00:00.250Z",
				"startTime":"2024-05-01T12:00:00Z","modelParameters":{"temperature":0.2,"stop":["x"],"max_tokens":"100","n":null},
				"usage":{"promptTokens":10,"completionTokens":5,"totalTokens":15,"unit":"TOKENS","inputCost":0.01,"outputCost":0.02,"totalCost":0.03},
				"promptName":"qa","promptVersion":3}`),
			want: []*ingestv1.IngestEvent{{Id: "e5", Timestamp: at, Type: ingestv1.EventType_EVENT_TYPE_OBSERVATION_CREATE, Observation: &ingestv1.ObservationBody{
				Id: "g1", TraceId: "t1", Type: commonv1.ObservationType_OBSERVATION_TYPE_GENERATION, Model: ptr("gpt-4o"),
				StartTime: ts("2024-05-01T12:00:00Z"), CompletionStartTime: ts("2024-05-01T12:00:00.250Z"),
				ModelParameters: map[string]string{"temperature": "0.2", "stop": `["x"]`, "max_tokens": "100"},
				Usage:           &commonv1.Usage{Input: ptr[int64](10), Output: ptr[int64](5), Total: ptr[int64](15)},
				Cost:            &commonv1.Cost{Input: ptr(0.01), Output: ptr(0.02), Total: ptr(0.03)},
				Metadata:        map[string]string{metaUsageUnit: "TOKENS", metaPromptName: "qa", metaPromptVersion: "3"},
			}}},
		},
		{
			name: "generation-update with usageDetails (each key a unit: details added to input and output) and costDetails",
			raw: event("e6", "generation-update", `{"id":"g1","traceId":"t1","usage":{"input":1,"output":2},
				"usageDetails":{"input":7,"output":3,"total":14,"input_cached_tokens":"4","web_search":1,"bad":-1,"f":1.5,"nil":null},
				"costDetails":{"input":0.5,"total":1,"cache_read":0.25,"neg":-2}}`),
			want: []*ingestv1.IngestEvent{{Id: "e6", Timestamp: at, Type: ingestv1.EventType_EVENT_TYPE_OBSERVATION_UPDATE, Observation: &ingestv1.ObservationBody{
				Id: "g1", TraceId: "t1",
				Usage: &commonv1.Usage{Input: ptr[int64](11), Output: ptr[int64](3), Total: ptr[int64](14),
					Details: map[string]int64{"cached_input": 4, "web_search": 1}},
				Cost:     &commonv1.Cost{Input: ptr(0.5), Total: ptr(1.0)},
				Metadata: map[string]string{metaCostPrefix + "cache_read": "0.25"},
			}}},
		},
		{
			name: "generation-create with an OpenAI completion usage object (its counts include the details)",
			raw: event("e7", "generation-create", `{"id":"g2","traceId":"t1","usageDetails":{"prompt_tokens":100,"completion_tokens":50,"total_tokens":150,
				"prompt_tokens_details":{"cached_tokens":30,"audio_tokens":null},"completion_tokens_details":{"reasoning_tokens":20}}}`),
			want: []*ingestv1.IngestEvent{{Id: "e7", Timestamp: at, Type: ingestv1.EventType_EVENT_TYPE_OBSERVATION_CREATE, Observation: &ingestv1.ObservationBody{
				Id: "g2", TraceId: "t1", Type: commonv1.ObservationType_OBSERVATION_TYPE_GENERATION,
				Usage: &commonv1.Usage{Input: ptr[int64](100), Output: ptr[int64](50), Total: ptr[int64](150),
					Details: map[string]int64{"cached_input": 30, "reasoning_output": 20}},
			}}},
		},
		{
			name: "generation-create with Anthropic's cache counts in usageDetails beside the older usage",
			raw: event("e6a", "generation-create", `{"id":"g4","traceId":"t1","usage":{"input":10,"output":5},
				"usageDetails":{"cache_read_input_tokens":300,"cache_creation_input_tokens":200,"output_reasoning_tokens":2}}`),
			want: []*ingestv1.IngestEvent{{Id: "e6a", Timestamp: at, Type: ingestv1.EventType_EVENT_TYPE_OBSERVATION_CREATE, Observation: &ingestv1.ObservationBody{
				Id: "g4", TraceId: "t1", Type: commonv1.ObservationType_OBSERVATION_TYPE_GENERATION,
				Usage: &commonv1.Usage{Input: ptr[int64](510), Output: ptr[int64](7),
					Details: map[string]int64{"cached_input": 300, "cache_creation_input": 200, "reasoning_output": 2}},
			}}},
		},
		{
			name: "generation-create with an OpenAI responses usage object",
			raw:  event("e7r", "generation-create", `{"id":"g3","traceId":"t1","usageDetails":{"input_tokens":10,"output_tokens":4,"total_tokens":14}}`),
			want: []*ingestv1.IngestEvent{{Id: "e7r", Timestamp: at, Type: ingestv1.EventType_EVENT_TYPE_OBSERVATION_CREATE, Observation: &ingestv1.ObservationBody{
				Id: "g3", TraceId: "t1", Type: commonv1.ObservationType_OBSERVATION_TYPE_GENERATION,
				Usage: &commonv1.Usage{Input: ptr[int64](10), Output: ptr[int64](4), Total: ptr[int64](14)},
			}}},
		},
		{
			name: "event-create ends where it starts",
			raw:  event("e8", "event-create", `{"id":"ev1","traceId":"t1","name":"click","startTime":"2024-05-01T12:00:03Z","endTime":"2024-05-01T13:00:00Z"}`),
			want: []*ingestv1.IngestEvent{{Id: "e8", Timestamp: at, Type: ingestv1.EventType_EVENT_TYPE_OBSERVATION_CREATE, Observation: &ingestv1.ObservationBody{
				Id: "ev1", TraceId: "t1", Type: commonv1.ObservationType_OBSERVATION_TYPE_EVENT, Name: ptr("click"),
				StartTime: ts("2024-05-01T12:00:03Z"), EndTime: ts("2024-05-01T12:00:03Z"),
			}}},
		},
		{
			name: "event-create without startTime takes the event timestamp",
			raw:  event("e9", "event-create", `{"id":"ev2","traceId":"t1"}`),
			want: []*ingestv1.IngestEvent{{Id: "e9", Timestamp: at, Type: ingestv1.EventType_EVENT_TYPE_OBSERVATION_CREATE, Observation: &ingestv1.ObservationBody{
				Id: "ev2", TraceId: "t1", Type: commonv1.ObservationType_OBSERVATION_TYPE_EVENT, StartTime: at, EndTime: at,
			}}},
		},
		{
			name: "observation without traceId implies its trace",
			raw:  event("e10", "span-create", `{"id":"o9","startTime":"2024-05-01T12:00:00Z","environment":"dev"}`),
			want: []*ingestv1.IngestEvent{
				{Id: "e10", Timestamp: at, Type: ingestv1.EventType_EVENT_TYPE_OBSERVATION_CREATE, Observation: &ingestv1.ObservationBody{
					Id: "o9", TraceId: derivedTraceID("o9"), Type: commonv1.ObservationType_OBSERVATION_TYPE_SPAN,
					StartTime: ts("2024-05-01T12:00:00Z"), Environment: ptr("dev"),
				}},
				{Id: impliedTracePrefix + hashHex("e10"), Timestamp: at, Type: ingestv1.EventType_EVENT_TYPE_TRACE_CREATE, Trace: &ingestv1.TraceBody{
					Id: derivedTraceID("o9"), Timestamp: ts("2024-05-01T12:00:00Z"), Environment: ptr("dev"),
				}},
			},
		},
		{
			name: "legacy observation-create names its type",
			raw:  event("e11", "observation-create", `{"id":"o2","traceId":"t1","type":"GENERATION"}`),
			want: []*ingestv1.IngestEvent{{Id: "e11", Timestamp: at, Type: ingestv1.EventType_EVENT_TYPE_OBSERVATION_CREATE, Observation: &ingestv1.ObservationBody{
				Id: "o2", TraceId: "t1", Type: commonv1.ObservationType_OBSERVATION_TYPE_GENERATION,
			}}},
		},
		{
			name: "numeric score",
			raw: event("e12", "score-create", `{"id":"sc1","traceId":"t1","observationId":"o1","name":"accuracy","value":0.9,"comment":"good",
				"source":"EVAL","configId":"cfg","metadata":{"by":"judge"},"environment":"prod"}`),
			want: []*ingestv1.IngestEvent{{Id: "e12", Timestamp: at, Type: ingestv1.EventType_EVENT_TYPE_SCORE_CREATE, Score: &ingestv1.ScoreBody{
				Id: "sc1", TraceId: "t1", ObservationId: ptr("o1"), Name: ptr("accuracy"), Value: ptr(0.9), Comment: ptr("good"),
				DataType: commonv1.ScoreDataType_SCORE_DATA_TYPE_NUMERIC, Source: commonv1.ScoreSource_SCORE_SOURCE_EVAL,
				Metadata: map[string]string{"by": "judge", metaConfigID: "cfg"}, Environment: ptr("prod"),
			}}},
		},
		{
			name: "a string value without dataType is categorical",
			raw:  event("e13", "score-create", `{"traceId":"t1","name":"tone","value":"polite"}`),
			want: []*ingestv1.IngestEvent{{Id: "e13", Timestamp: at, Type: ingestv1.EventType_EVENT_TYPE_SCORE_CREATE, Score: &ingestv1.ScoreBody{
				Id: "e13", TraceId: "t1", Name: ptr("tone"), StringValue: ptr("polite"), DataType: commonv1.ScoreDataType_SCORE_DATA_TYPE_CATEGORICAL,
			}}},
		},
		{
			name: "boolean session score",
			raw:  event("e14", "score-create", `{"id":"sc3","sessionId":"s1","name":"resolved","value":1,"dataType":"BOOLEAN"}`),
			want: []*ingestv1.IngestEvent{{Id: "e14", Timestamp: at, Type: ingestv1.EventType_EVENT_TYPE_SCORE_CREATE, Score: &ingestv1.ScoreBody{
				Id: "sc3", SessionId: ptr("s1"), Name: ptr("resolved"), Value: ptr(1.0), DataType: commonv1.ScoreDataType_SCORE_DATA_TYPE_BOOLEAN,
			}}},
		},
		{
			name: "categorical score named so",
			raw:  event("e15", "score-create", `{"id":"sc4","traceId":"t1","name":"label","value":"spam","dataType":"CATEGORICAL"}`),
			want: []*ingestv1.IngestEvent{{Id: "e15", Timestamp: at, Type: ingestv1.EventType_EVENT_TYPE_SCORE_CREATE, Score: &ingestv1.ScoreBody{
				Id: "sc4", TraceId: "t1", Name: ptr("label"), StringValue: ptr("spam"), DataType: commonv1.ScoreDataType_SCORE_DATA_TYPE_CATEGORICAL,
			}}},
		},
	}
	for typ, ot := range map[string]commonv1.ObservationType{
		"agent-create": commonv1.ObservationType_OBSERVATION_TYPE_AGENT, "tool-create": commonv1.ObservationType_OBSERVATION_TYPE_TOOL,
		"chain-create": commonv1.ObservationType_OBSERVATION_TYPE_CHAIN, "retriever-create": commonv1.ObservationType_OBSERVATION_TYPE_RETRIEVER,
		"embedding-create": commonv1.ObservationType_OBSERVATION_TYPE_EMBEDDING, "evaluator-create": commonv1.ObservationType_OBSERVATION_TYPE_EVALUATOR,
		"guardrail-create": commonv1.ObservationType_OBSERVATION_TYPE_GUARDRAIL,
	} {
		tests = append(tests, struct {
			name string
			raw  string
			want []*ingestv1.IngestEvent
		}{
			name: typ,
			raw:  event("x-"+typ, typ, `{"id":"o-`+typ+`","traceId":"t1","name":"step","model":"m"}`),
			want: []*ingestv1.IngestEvent{{Id: "x-" + typ, Timestamp: at, Type: ingestv1.EventType_EVENT_TYPE_OBSERVATION_CREATE, Observation: &ingestv1.ObservationBody{
				Id: "o-" + typ, TraceId: "t1", Type: ot, Name: ptr("step"), Model: ptr("m"),
			}}},
		})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it := decodeOne(t, tt.raw)
			if it.err != nil {
				t.Fatalf("error: %v", it.err)
			}
			if len(it.events) != len(tt.want) {
				t.Fatalf("got %d events, want %d:\n%v", len(it.events), len(tt.want), it.events)
			}
			for i := range tt.want {
				if !proto.Equal(it.events[i], tt.want[i]) {
					t.Errorf("event %d:\n got %s\nwant %s", i, prototext.Format(it.events[i]), prototext.Format(tt.want[i]))
				}
			}
			// The same bytes map to the same events: a retry is stored once.
			again := decodeOne(t, tt.raw)
			for i := range again.events {
				if !proto.Equal(again.events[i], it.events[i]) {
					t.Errorf("event %d differs on a second decode", i)
				}
			}
		})
	}
}

func TestDecodeSDKLog(t *testing.T) {
	it := decodeOne(t, event("l1", "sdk-log", `{"log":{"msg":"flush failed"}}`))
	if it.err != nil || len(it.events) != 0 || string(it.log) != `{"msg":"flush failed"}` {
		t.Fatalf("got %+v", it)
	}
}

func TestDecodeEventErrors(t *testing.T) {
	tests := []struct {
		name, raw, id, field, msg string
	}{
		{"not an object", `42`, unknownID, "", "must be a JSON object"},
		{"no id", `{"type":"trace-create","body":{}}`, unknownID, "id", "required"},
		{"id not a string", `{"id":7,"type":"trace-create","body":{}}`, unknownID, "id", "must be a string, got a number"},
		{"no type", `{"id":"e","body":{}}`, "e", "type", "required"},
		{"unknown type", event("e", "trace-delete", `{}`), "e", "type", `unknown event type "trace-delete"`},
		{"dataset run items", event("e", "dataset-run-item-create", `{}`), "e", "type", "not supported"},
		{"bad timestamp", `{"id":"e","type":"trace-create","timestamp":"yesterday","body":{}}`, "e", "timestamp", "ISO 8601"},
		{"no body", `{"id":"e","type":"trace-create"}`, "e", "body", "required"},
		{"body not an object", event("e", "trace-create", `"x"`), "e", "body", "must be a JSON object, got a string"},
		{"trace name a number", event("e", "trace-create", `{"name":5}`), "e", "body.name", "must be a string, got a number"},
		{"tags not strings", event("e", "trace-create", `{"tags":[1]}`), "e", "body.tags", "array of strings"},
		{"observation without id", event("e", "span-create", `{"traceId":"t"}`), "e", "body.id", "required"},
		{"bad start time", event("e", "span-create", `{"id":"o","startTime":"12:00"}`), "e", "body.startTime", "ISO 8601"},
		{"bad level", event("e", "span-create", `{"id":"o","level":"FATAL"}`), "e", "body.level", "DEBUG, DEFAULT, WARNING, ERROR"},
		{"traceId a number", event("e", "span-create", `{"id":"o","traceId":1}`), "e", "body.traceId", "must be a string"},
		{"modelParameters a list", event("e", "generation-create", `{"id":"o","modelParameters":[1]}`), "e", "body.modelParameters", "must be a JSON object"},
		{"usage not an object", event("e", "generation-create", `{"id":"o","usage":5}`), "e", "body.usage", "must be a JSON object"},
		{"usage input a fraction", event("e", "generation-create", `{"id":"o","usage":{"input":1.5}}`), "e", "body.usage.input", "whole number"},
		{"usage cost a string", event("e", "generation-create", `{"id":"o","usage":{"inputCost":"1"}}`), "e", "body.usage.inputCost", "must be a number"},
		{"usageDetails a list", event("e", "generation-create", `{"id":"o","usageDetails":[]}`), "e", "body.usageDetails", "JSON object"},
		{"promptVersion a string", event("e", "generation-create", `{"id":"o","promptVersion":"3"}`), "e", "body.promptVersion", "must be a number"},
		{"legacy without type", event("e", "observation-create", `{"id":"o"}`), "e", "body.type", "required"},
		{"legacy bad type", event("e", "observation-create", `{"id":"o","type":"TOOL"}`), "e", "body.type", "SPAN, GENERATION, EVENT"},
		{"score without value", event("e", "score-create", `{"traceId":"t","name":"n"}`), "e", "body.value", "required"},
		{"score value a boolean", event("e", "score-create", `{"traceId":"t","name":"n","value":true}`), "e", "body.value", "must be a number"},
		{"numeric score with a string", event("e", "score-create", `{"traceId":"t","name":"n","value":"x","dataType":"NUMERIC"}`), "e", "body.value", "must be a number"},
		{"categorical score with a number", event("e", "score-create", `{"traceId":"t","name":"n","value":1,"dataType":"CATEGORICAL"}`), "e", "body.value", "must be a string"},
		{"boolean score of 2", event("e", "score-create", `{"traceId":"t","name":"n","value":2,"dataType":"BOOLEAN"}`), "e", "body.value", "0 or 1"},
		{"text score", event("e", "score-create", `{"traceId":"t","name":"n","value":"x","dataType":"TEXT"}`), "e", "body.dataType", "not supported"},
		{"unknown data type", event("e", "score-create", `{"traceId":"t","name":"n","value":1,"dataType":"RATIO"}`), "e", "body.dataType", "NUMERIC, CATEGORICAL, BOOLEAN"},
		{"bad score source", event("e", "score-create", `{"traceId":"t","name":"n","value":1,"source":"HUMAN"}`), "e", "body.source", "API, EVAL, ANNOTATION"},
		{"huge number", event("e", "trace-create", `{"input":1e999}`), "e", "body.input", "not representable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it := decodeOne(t, tt.raw)
			if it.err == nil {
				t.Fatalf("no error; events %v", it.events)
			}
			if it.id != tt.id || it.err.field != tt.field || !strings.Contains(it.err.msg, tt.msg) {
				t.Fatalf("got id %q, error %q; want id %q, field %q, message containing %q", it.id, it.err, tt.id, tt.field, tt.msg)
			}
			if it.events != nil {
				t.Fatalf("a failed event still maps to %v", it.events)
			}
		})
	}
}

func TestDecodeBatchErrors(t *testing.T) {
	for _, body := range []string{``, `[]`, `{"batch":{}}`, `{}`, `{"batch":null}`, `{"batch":[1,`, `"batch"`} {
		if _, err := decodeBatch([]byte(body)); err == nil {
			t.Errorf("decodeBatch(%q) succeeded", body)
		}
	}
	b, err := decodeBatch([]byte(`{"batch":[],"metadata":{"sdk_name":"langfuse-js"}}`))
	if err != nil || len(b.items) != 0 {
		t.Fatalf("empty batch: %v, %v", b, err)
	}
}

func TestLangfuseField(t *testing.T) {
	for native, want := range map[string]string{
		"id":                                "id",
		"observation":                       "body",
		"observation.start_time":            "body.startTime",
		"observation.parent_observation_id": "body.parentObservationId",
		"observation.usage.details":         "body.usage.details",
		"observation.cost.input":            "body.costDetails.input",
		"score.string_value":                "body.value",
		"trace.user_id":                     "body.userId",
	} {
		if got := langfuseField(native); got != want {
			t.Errorf("langfuseField(%q) = %q, want %q", native, got, want)
		}
	}
}

func mustValue(v any) *structpb.Value {
	pv, err := structpb.NewValue(v)
	if err != nil {
		panic(err)
	}
	return pv
}

// FuzzDecodeBatch feeds arbitrary bytes to the decoder: it must not panic,
// must account for every event, and everything it maps must be
// publishable (marshals, as ingest will) and carry ids.
func FuzzDecodeBatch(f *testing.F) {
	f.Add([]byte(`{"batch":[` + event("e", "trace-create", `{"id":"t","metadata":{"a":[1]}}`) + `]}`))
	f.Add([]byte(`{"batch":[` + event("e", "generation-create", `{"id":"g","usage":{"promptTokens":1},"usageDetails":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2,"prompt_tokens_details":{"x":5}}}`) + `]}`))
	f.Add([]byte(`{"batch":[` + event("e", "score-create", `{"name":"n","value":"x"}`) + `,` + event("f", "event-create", `{"id":"o"}`) + `]}`))
	f.Add([]byte(`{"batch":[{"id":"\ud800","type":"sdk-log","body":{"log":null}}, null, [], "x"]}`))
	f.Add([]byte(`{"batch":[{"id":"e","type":"observation-update","timestamp":"2024-01-01T00:00:00","body":{"id":"o","type":"EVENT","costDetails":{"a":1}}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := decodeBatch(data)
		if err != nil {
			return
		}
		var raw struct{ Batch []json.RawMessage }
		if json.Unmarshal(data, &raw) == nil && len(raw.Batch) != len(b.items) {
			t.Fatalf("%d events decoded into %d items", len(raw.Batch), len(b.items))
		}
		for _, it := range b.items {
			if it.id == "" {
				t.Fatal("item without an id")
			}
			if it.err != nil && len(it.events) > 0 {
				t.Fatal("a failed event maps to events")
			}
			for _, ev := range it.events {
				if ev.GetId() == "" || ev.GetType() == ingestv1.EventType_EVENT_TYPE_UNSPECIFIED {
					t.Fatalf("event without id or type: %v", ev)
				}
				if _, err := proto.Marshal(ev); err != nil {
					t.Fatalf("unpublishable event %v: %v", ev, err)
				}
			}
		}
	})
}
