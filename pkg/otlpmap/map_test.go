package otlpmap_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	tracev1 "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	"github.com/agenttrace/agenttrace/pkg/otlpmap"
)

func TestObservationType(t *testing.T) {
	const (
		span       = commonv1.ObservationType_OBSERVATION_TYPE_SPAN
		generation = commonv1.ObservationType_OBSERVATION_TYPE_GENERATION
		embedding  = commonv1.ObservationType_OBSERVATION_TYPE_EMBEDDING
		tool       = commonv1.ObservationType_OBSERVATION_TYPE_TOOL
		agent      = commonv1.ObservationType_OBSERVATION_TYPE_AGENT
		chain      = commonv1.ObservationType_OBSERVATION_TYPE_CHAIN
		retriever  = commonv1.ObservationType_OBSERVATION_TYPE_RETRIEVER
	)
	tests := []struct {
		name  string
		attrs map[string]any
		want  commonv1.ObservationType
	}{
		{"no attributes", nil, span},
		{"genai chat", map[string]any{"gen_ai.operation.name": "chat"}, generation},
		{"genai text_completion", map[string]any{"gen_ai.operation.name": "text_completion"}, generation},
		{"genai generate_content", map[string]any{"gen_ai.operation.name": "generate_content"}, generation},
		{"genai embeddings", map[string]any{"gen_ai.operation.name": "embeddings"}, embedding},
		{"genai execute_tool", map[string]any{"gen_ai.operation.name": "execute_tool"}, tool},
		{"genai invoke_agent", map[string]any{"gen_ai.operation.name": "invoke_agent"}, agent},
		{"genai create_agent", map[string]any{"gen_ai.operation.name": "create_agent"}, agent},
		{"genai unknown operation falls through", map[string]any{"gen_ai.operation.name": "dance"}, span},
		{"openinference LLM", map[string]any{"openinference.span.kind": "LLM"}, generation},
		{"openinference lower case", map[string]any{"openinference.span.kind": "llm"}, generation},
		{"openinference EMBEDDING", map[string]any{"openinference.span.kind": "EMBEDDING"}, embedding},
		{"openinference CHAIN", map[string]any{"openinference.span.kind": "CHAIN"}, chain},
		{"openinference RETRIEVER", map[string]any{"openinference.span.kind": "RETRIEVER"}, retriever},
		{"openinference RERANKER", map[string]any{"openinference.span.kind": "RERANKER"}, retriever},
		{"openinference TOOL", map[string]any{"openinference.span.kind": "TOOL"}, tool},
		{"openinference AGENT", map[string]any{"openinference.span.kind": "AGENT"}, agent},
		{"openinference GUARDRAIL", map[string]any{"openinference.span.kind": "GUARDRAIL"}, commonv1.ObservationType_OBSERVATION_TYPE_GUARDRAIL},
		{"openinference EVALUATOR", map[string]any{"openinference.span.kind": "EVALUATOR"}, commonv1.ObservationType_OBSERVATION_TYPE_EVALUATOR},
		{"openinference UNKNOWN", map[string]any{"openinference.span.kind": "UNKNOWN"}, span},
		{"traceloop workflow", map[string]any{"traceloop.span.kind": "workflow"}, chain},
		{"traceloop task", map[string]any{"traceloop.span.kind": "task"}, span},
		{"traceloop agent", map[string]any{"traceloop.span.kind": "agent"}, agent},
		{"traceloop tool", map[string]any{"traceloop.span.kind": "tool"}, tool},
		{"openllmetry chat request", map[string]any{"llm.request.type": "chat"}, generation},
		{"openllmetry completion request", map[string]any{"llm.request.type": "completion"}, generation},
		{"openllmetry embedding request", map[string]any{"llm.request.type": "embedding"}, embedding},
		{"openllmetry rerank request", map[string]any{"llm.request.type": "rerank"}, retriever},
		{"a model implies a generation", map[string]any{"gen_ai.request.model": "gpt-4o"}, generation},
		{"an openinference model implies a generation", map[string]any{"llm.model_name": "m"}, generation},
		{"token counts imply a generation", map[string]any{"gen_ai.usage.output_tokens": 3}, generation},
		{"a tool name implies a tool", map[string]any{"gen_ai.tool.name": "search"}, tool},
		{"an openinference tool name implies a tool", map[string]any{"tool.name": "search"}, tool},
		{"an agent name implies an agent", map[string]any{"gen_ai.agent.name": "planner"}, agent},
		{"operation beats implication", map[string]any{"gen_ai.operation.name": "invoke_agent", "gen_ai.request.model": "m"}, agent},
		{"openinference beats genai", map[string]any{"openinference.span.kind": "TOOL", "gen_ai.operation.name": "chat"}, tool},
		{"explicit type wins", map[string]any{"agenttrace.observation.type": "guardrail", "gen_ai.operation.name": "chat"},
			commonv1.ObservationType_OBSERVATION_TYPE_GUARDRAIL},
		{"explicit type with prefix", map[string]any{"agenttrace.observation.type": "OBSERVATION_TYPE_EVENT"},
			commonv1.ObservationType_OBSERVATION_TYPE_EVENT},
		{"unknown explicit type is ignored", map[string]any{"agenttrace.observation.type": "banana", "llm.request.type": "chat"}, generation},
		{"unspecified explicit type is ignored", map[string]any{"agenttrace.observation.type": "unspecified"}, span},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events := mapOK(t, request(nil, rootSpan(tt.attrs)))
			if got := observation(t, events, rootHex).GetType(); got != tt.want {
				t.Errorf("type = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLevelAndStatusMessage(t *testing.T) {
	exception := func(typ, msg string) *tracev1.Span_Event {
		return &tracev1.Span_Event{Name: "exception", TimeUnixNano: at(time.Millisecond),
			Attributes: kvs(map[string]any{"exception.type": typ, "exception.message": msg})}
	}
	tests := []struct {
		name    string
		status  *tracev1.Status
		events  []*tracev1.Span_Event
		attrs   map[string]any
		want    commonv1.ObservationLevel
		message string
	}{
		{name: "plain span", want: commonv1.ObservationLevel_OBSERVATION_LEVEL_DEFAULT},
		{name: "status ok", status: &tracev1.Status{Code: tracev1.Status_STATUS_CODE_OK}, want: commonv1.ObservationLevel_OBSERVATION_LEVEL_DEFAULT},
		{name: "status error", status: &tracev1.Status{Code: tracev1.Status_STATUS_CODE_ERROR, Message: "boom"},
			want: commonv1.ObservationLevel_OBSERVATION_LEVEL_ERROR, message: "boom"},
		{name: "status error, message from the exception", status: &tracev1.Status{Code: tracev1.Status_STATUS_CODE_ERROR},
			events: []*tracev1.Span_Event{exception("KeyError", "'x'")},
			want:   commonv1.ObservationLevel_OBSERVATION_LEVEL_ERROR, message: "KeyError: 'x'"},
		{name: "unhandled exception", events: []*tracev1.Span_Event{exception("ValueError", "")},
			want: commonv1.ObservationLevel_OBSERVATION_LEVEL_ERROR, message: "ValueError"},
		{name: "exception with only a message", events: []*tracev1.Span_Event{exception("", "it broke")},
			want: commonv1.ObservationLevel_OBSERVATION_LEVEL_ERROR, message: "it broke"},
		{name: "handled exception", status: &tracev1.Status{Code: tracev1.Status_STATUS_CODE_OK},
			events: []*tracev1.Span_Event{exception("Timeout", "retrying")},
			want:   commonv1.ObservationLevel_OBSERVATION_LEVEL_WARNING, message: "Timeout: retrying"},
		{name: "explicit level and message", attrs: map[string]any{"agenttrace.level": "debug", "agenttrace.status_message": "noisy"},
			want: commonv1.ObservationLevel_OBSERVATION_LEVEL_DEBUG, message: "noisy"},
		{name: "explicit level beats the status", status: &tracev1.Status{Code: tracev1.Status_STATUS_CODE_ERROR, Message: "x"},
			attrs: map[string]any{"agenttrace.level": "WARNING"}, want: commonv1.ObservationLevel_OBSERVATION_LEVEL_WARNING, message: "x"},
		{name: "unknown explicit level is ignored", attrs: map[string]any{"agenttrace.level": "loud"},
			want: commonv1.ObservationLevel_OBSERVATION_LEVEL_DEFAULT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := rootSpan(tt.attrs)
			s.Status, s.Events = tt.status, tt.events
			events := mapOK(t, request(nil, s))
			o := observation(t, events, rootHex)
			if o.GetLevel() != tt.want || o.GetStatusMessage() != tt.message {
				t.Errorf("level %v %q, want %v %q", o.GetLevel(), o.GetStatusMessage(), tt.want, tt.message)
			}
			for _, ev := range events {
				if ev.GetObservation().GetType() == commonv1.ObservationType_OBSERVATION_TYPE_EVENT {
					t.Errorf("exception became an EVENT observation: %v", ev)
				}
			}
		})
	}
}

func TestUsageAndCost(t *testing.T) {
	i := proto.Int64
	f := proto.Float64
	tests := []struct {
		name  string
		attrs map[string]any
		usage *commonv1.Usage
		cost  *commonv1.Cost
		meta  map[string]string // entries that must be in metadata
	}{
		{name: "genai counts, total derived",
			attrs: map[string]any{"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 4},
			usage: &commonv1.Usage{Input: i(10), Output: i(4), Total: i(14)}},
		{name: "older genai names",
			attrs: map[string]any{"gen_ai.operation.name": "chat", "gen_ai.usage.prompt_tokens": 7, "gen_ai.usage.completion_tokens": 1},
			usage: &commonv1.Usage{Input: i(7), Output: i(1), Total: i(8)}},
		{name: "current name wins, the other stays in metadata",
			attrs: map[string]any{"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": 10, "gen_ai.usage.prompt_tokens": 9},
			usage: &commonv1.Usage{Input: i(10), Total: i(10)}, meta: map[string]string{"gen_ai.usage.prompt_tokens": "9"}},
		{name: "genai cache and reasoning details",
			attrs: map[string]any{"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": 100, "gen_ai.usage.output_tokens": 50,
				"gen_ai.usage.cache_read.input_tokens": 80, "gen_ai.usage.cache_creation.input_tokens": 20,
				"gen_ai.usage.reasoning.output_tokens": 30},
			usage: &commonv1.Usage{Input: i(100), Output: i(50), Total: i(150),
				Details: map[string]int64{"cached_input": 80, "cache_creation_input": 20, "reasoning_output": 30}}},
		{name: "openllmetry names with a sent total",
			attrs: map[string]any{"llm.request.type": "chat", "gen_ai.usage.prompt_tokens": 3, "gen_ai.usage.completion_tokens": 2,
				"llm.usage.total_tokens": 6, "gen_ai.usage.cache_read_input_tokens": 1, "gen_ai.usage.cache_creation_input_tokens": 2},
			usage: &commonv1.Usage{Input: i(3), Output: i(2), Total: i(6), Details: map[string]int64{"cached_input": 1, "cache_creation_input": 2}}},
		{name: "openinference counts and cost",
			attrs: map[string]any{"openinference.span.kind": "LLM", "llm.token_count.prompt": 5, "llm.token_count.completion": 6,
				"llm.token_count.total": 11, "llm.token_count.prompt_details.cache_write": 2, "llm.token_count.prompt_details.audio": 1,
				"llm.token_count.completion_details.audio": 3, "llm.cost.prompt": 0.5, "llm.cost.completion": 0.25},
			usage: &commonv1.Usage{Input: i(5), Output: i(6), Total: i(11),
				Details: map[string]int64{"cache_creation_input": 2, "audio_input": 1, "audio_output": 3}},
			cost: &commonv1.Cost{Input: f(0.5), Output: f(0.25), Total: f(0.75)}},
		{name: "counts as strings and integral doubles",
			attrs: map[string]any{"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": "12", "gen_ai.usage.output_tokens": 3.0},
			usage: &commonv1.Usage{Input: i(12), Output: i(3), Total: i(15)}},
		{name: "negative and fractional counts are not counts",
			attrs: map[string]any{"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": -1, "gen_ai.usage.output_tokens": 2.5},
			meta:  map[string]string{"gen_ai.usage.input_tokens": "-1", "gen_ai.usage.output_tokens": "2.5"}},
		{name: "client cost total only",
			attrs: map[string]any{"gen_ai.operation.name": "chat", "gen_ai.usage.cost": 0.01},
			cost:  &commonv1.Cost{Total: f(0.01)}},
		{name: "explicit cost beats the convention",
			attrs: map[string]any{"gen_ai.operation.name": "chat", "agenttrace.cost.total": 2.0, "llm.cost.total": 1.0},
			cost:  &commonv1.Cost{Total: f(2)}, meta: map[string]string{"llm.cost.total": "1"}},
		{name: "non-finite and negative costs are not costs",
			attrs: map[string]any{"gen_ai.operation.name": "chat", "llm.cost.prompt": math.Inf(1), "llm.cost.completion": -1.0},
			meta:  map[string]string{"llm.cost.prompt": "+Inf", "llm.cost.completion": "-1"}},
		{name: "an agent's counts stay metadata",
			attrs: map[string]any{"gen_ai.operation.name": "invoke_agent", "gen_ai.usage.input_tokens": 10, "llm.cost.total": 0.1},
			meta:  map[string]string{"gen_ai.usage.input_tokens": "10", "llm.cost.total": "0.1"}},
		{name: "embeddings count input",
			attrs: map[string]any{"gen_ai.operation.name": "embeddings", "gen_ai.usage.input_tokens": 8},
			usage: &commonv1.Usage{Input: i(8), Total: i(8)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := observation(t, mapOK(t, request(nil, rootSpan(tt.attrs))), rootHex)
			if !proto.Equal(o.GetUsage(), tt.usage) {
				t.Errorf("usage = %v, want %v", o.GetUsage(), tt.usage)
			}
			if !proto.Equal(o.GetCost(), tt.cost) {
				t.Errorf("cost = %v, want %v", o.GetCost(), tt.cost)
			}
			for k, v := range tt.meta {
				if got, ok := o.GetMetadata()[k]; !ok || got != v {
					t.Errorf("metadata[%q] = %q (present %v), want %q", k, got, ok, v)
				}
			}
		})
	}
}

func TestModelAndParameters(t *testing.T) {
	o := observation(t, mapOK(t, request(nil, rootSpan(map[string]any{
		"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o", "gen_ai.response.model": "gpt-4o-2024-08-06",
		"gen_ai.request.temperature": 0.5, "gen_ai.request.seed": 7, "gen_ai.request.stop_sequences": []any{"a", "b"},
		"llm.invocation_parameters":              `{"top_p":0.1,"tool_choice":{"type":"auto"}}`,
		"agenttrace.model_parameters.max_tokens": 100,
	}))), rootHex)
	if o.GetModel() != "gpt-4o-2024-08-06" {
		t.Errorf("model = %q, want the response model", o.GetModel())
	}
	want := map[string]string{"temperature": "0.5", "seed": "7", "stop_sequences": `["a","b"]`,
		"top_p": "0.1", "tool_choice": `{"type":"auto"}`, "max_tokens": "100"}
	if !equalMaps(o.GetModelParameters(), want) {
		t.Errorf("model_parameters = %v, want %v", o.GetModelParameters(), want)
	}
	if o.GetMetadata()["gen_ai.request.model"] != "gpt-4o" {
		t.Errorf("the requested model, not chosen, must stay in metadata: %v", o.GetMetadata())
	}
	for _, k := range []string{"gen_ai.response.model", "gen_ai.request.temperature", "llm.invocation_parameters"} {
		if _, ok := o.GetMetadata()[k]; ok {
			t.Errorf("consumed attribute %q also in metadata", k)
		}
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestInputAndOutputSources(t *testing.T) {
	tests := []struct {
		name    string
		attrs   map[string]any
		events  []*tracev1.Span_Event
		in, out string // compact JSON; "" for none
	}{
		{name: "genai messages as structured values",
			attrs: map[string]any{"gen_ai.input.messages": []any{map[string]any{"role": "user"}},
				"gen_ai.output.messages": []any{map[string]any{"role": "assistant"}}},
			in: `[{"role":"user"}]`, out: `[{"role":"assistant"}]`},
		{name: "system instructions alone",
			attrs: map[string]any{"gen_ai.system_instructions": "Be kind."},
			in:    `[{"content":"Be kind.","role":"system"}]`},
		{name: "messages that are not a list keep the instructions apart",
			attrs: map[string]any{"gen_ai.system_instructions": "S", "gen_ai.input.messages": "plain"},
			in:    `{"messages":"plain","system_instructions":"S"}`},
		{name: "openinference value without mime type stays text",
			attrs: map[string]any{"input.value": `{"a":1}`, "output.value": "42"},
			in:    `"{\"a\":1}"`, out: `"42"`},
		{name: "openinference json value is decoded",
			attrs: map[string]any{"input.value": `{"a":1}`, "input.mime_type": "application/json",
				"output.value": "not json", "output.mime_type": "application/json"},
			in: `{"a":1}`, out: `"not json"`},
		{name: "flattened lists with gaps and nesting",
			attrs: map[string]any{"gen_ai.prompt.0.role": "user", "gen_ai.prompt.0.content": "a",
				"gen_ai.prompt.2.role": "user", "gen_ai.prompt.2.tool_calls.0.name": "f", "gen_ai.prompt.2.tool_calls.1.name": "g",
				"gen_ai.prompt.x.role": "ignored", "gen_ai.prompt.3": "no path"},
			in: `[{"content":"a","role":"user"},{"role":"user","tool_calls":[{"name":"f"},{"name":"g"}]}]`},
		{name: "flattened keys that collide keep the first in key order",
			attrs: map[string]any{"gen_ai.completion.0.content": "x", "gen_ai.completion.0.content.text": "y"},
			out:   `[{"content":"x"}]`},
		{name: "openinference embeddings and documents",
			attrs: map[string]any{"embedding.embeddings.0.embedding.text": "hello",
				"retrieval.documents.0.document.id": "d1", "retrieval.documents.1.document.id": "d2"},
			in: `[{"text":"hello"}]`, out: `[{"id":"d1"},{"id":"d2"}]`},
		{name: "openllmetry entity values are JSON",
			attrs: map[string]any{"traceloop.entity.input": `"just text"`, "traceloop.entity.output": "not json"},
			in:    `"just text"`, out: `"not json"`},
		{name: "genai tool arguments and result",
			attrs: map[string]any{"gen_ai.tool.call.arguments": `{"q":"x"}`, "gen_ai.tool.call.result": "done"},
			in:    `{"q":"x"}`, out: `"done"`},
		{name: "explicit values win",
			attrs: map[string]any{"agenttrace.observation.input": "mine", "input.value": "theirs", "agenttrace.observation.output": true},
			in:    `"mine"`, out: `true`},
		{name: "operation details event",
			events: []*tracev1.Span_Event{{Name: "gen_ai.client.inference.operation.details", Attributes: kvs(map[string]any{
				"gen_ai.input.messages": `[{"role":"user"}]`, "gen_ai.output.messages": `[{"role":"assistant"}]`})}},
			in: `[{"role":"user"}]`, out: `[{"role":"assistant"}]`},
		{name: "values too deep are kept as text",
			attrs: map[string]any{"agenttrace.observation.input": strings.Repeat("[", 40) + strings.Repeat("]", 40)},
			in:    `"` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := rootSpan(tt.attrs)
			s.Events = tt.events
			events := mapOK(t, request(nil, s))
			o := observation(t, events, rootHex)
			if got := jsonOf(t, o.GetInput()); got != tt.in {
				t.Errorf("input = %s, want %s", got, tt.in)
			}
			if got := jsonOf(t, o.GetOutput()); got != tt.out {
				t.Errorf("output = %s, want %s", got, tt.out)
			}
			// Content events that became the input or output are not stored twice.
			if len(tt.events) > 0 && len(events) != 3 {
				t.Errorf("got %d events, want the observation and two trace events", len(events))
			}
		})
	}
}

func TestMetadataKeepsEverythingElse(t *testing.T) {
	s := rootSpan(map[string]any{
		"http.method": "POST", "retries": 3, "ratio": 0.5, "cached": true, "blob": []byte{1, 2, 3},
		"list": []any{"a", 1}, "map": map[string]any{"k": "v"}, "empty": "", "nothing": nil,
		"huge": strings.Repeat("x", 70<<10), "agenttrace.observation.metadata.note": "hi",
	})
	s.Kind = tracev1.Span_SPAN_KIND_SERVER
	o := observation(t, mapOK(t, request(map[string]any{"service.name": "svc"}, s)), rootHex)
	want := map[string]string{
		"http.method": "POST", "retries": "3", "ratio": "0.5", "cached": "true", "blob": "AQID",
		"list": `["a",1]`, "map": `{"k":"v"}`, "empty": "", "nothing": "", "note": "hi",
		"otel.span.kind": "SERVER", "resource.service.name": "svc",
	}
	for k, v := range want {
		if got, ok := o.GetMetadata()[k]; !ok || got != v {
			t.Errorf("metadata[%q] = %q (present %v), want %q", k, got, ok, v)
		}
	}
	huge := o.GetMetadata()["huge"]
	if len(huge) > 64<<10 || !strings.HasSuffix(huge, "…(truncated)") {
		t.Errorf("huge value: %d bytes, suffix %q", len(huge), huge[max(0, len(huge)-20):])
	}
}

func TestTraceFieldsFromAnySpan(t *testing.T) {
	// OpenInference and OpenLLMetry propagate the session to every span;
	// the child here also names the trace.
	req := request(map[string]any{"service.name": "svc", "service.version": "2.0", "deployment.environment": "dev"},
		rootSpan(map[string]any{"session.id": "s-1", "tag.tags": []any{"a"}, "metadata": `{"team":"x","n":1}`}),
		childSpan(1, 100*time.Millisecond, 200*time.Millisecond, map[string]any{
			"session.id": "s-1", "agenttrace.trace.name": "Named", "agenttrace.tags": `["b","a"]`,
			"traceloop.association.properties.user_id": "u-7", "traceloop.association.properties.plan": "pro",
			"agenttrace.metadata.team": "y",
		}),
	)
	events := mapOK(t, req)
	got := mergedTrace(events)
	if got.GetName() != "Named" || got.GetUserId() != "u-7" || got.GetSessionId() != "s-1" ||
		got.GetEnvironment() != "dev" || got.GetRelease() != "2.0" || got.GetVersion() != "2.0" ||
		!got.GetTimestamp().AsTime().Equal(t0) {
		t.Errorf("merged trace = %v", got)
	}
	if strings.Join(got.GetTags(), ",") != "b,a" {
		t.Errorf("tags = %v, want b,a", got.GetTags())
	}
	// The root's statement wins a key over a child's.
	wantMeta := map[string]string{"team": "x", "n": "1", "plan": "pro",
		"resource.service.name": "svc", "resource.service.version": "2.0", "resource.deployment.environment": "dev"}
	if !equalMaps(got.GetMetadata(), wantMeta) {
		t.Errorf("metadata = %v, want %v", got.GetMetadata(), wantMeta)
	}
	for _, id := range []string{rootHex, "c000000000000001"} {
		md := observation(t, events, id).GetMetadata()
		for _, k := range []string{"session.id", "agenttrace.trace.name", "metadata", "tag.tags"} {
			if _, ok := md[k]; ok {
				t.Errorf("observation %s keeps trace-level %q in its metadata", id, k)
			}
		}
	}
}

// The merge prefers, whatever request each event came in: an explicit
// statement over the root's span name, the root's timestamp over a guess
// from its descendants.
func TestTraceEventsRankAcrossRequests(t *testing.T) {
	root := rootSpan(nil)
	named := childSpan(1, 100*time.Millisecond, 200*time.Millisecond, map[string]any{"agenttrace.trace.name": "Explicit"})
	late := childSpan(2, 500*time.Millisecond, 600*time.Millisecond, nil)
	orders := map[string][][]*tracev1.Span{
		"all at once":       {{root, named, late}},
		"children first":    {{named}, {late}, {root}},
		"root first":        {{root}, {late}, {named}},
		"root between them": {{late}, {root}, {named}},
	}
	for name, requests := range orders {
		t.Run(name, func(t *testing.T) {
			var events []*ingestv1.IngestEvent
			for _, spans := range requests {
				events = append(events, mapOK(t, request(nil, spans...))...)
			}
			got := mergedTrace(events)
			if got.GetName() != "Explicit" || !got.GetTimestamp().AsTime().Equal(t0) {
				t.Errorf("merged name %q at %v, want Explicit at %v", got.GetName(), got.GetTimestamp().AsTime(), t0)
			}
		})
	}
}

func TestRootlessTraceStillHasATrace(t *testing.T) {
	events := mapOK(t, request(map[string]any{"deployment.environment.name": "prod", "service.version": "3"},
		childSpan(2, 300*time.Millisecond, 400*time.Millisecond, nil),
		childSpan(1, 200*time.Millisecond, 900*time.Millisecond, nil)))
	got := mergedTrace(events)
	if got.GetId() != traceHex || !got.GetTimestamp().AsTime().Equal(t0.Add(200*time.Millisecond)) ||
		got.GetEnvironment() != "prod" || got.GetRelease() != "3" || got.Name != nil {
		t.Errorf("rootless trace = %v", got)
	}
}

func TestMapIsDeterministicAndDeduplicates(t *testing.T) {
	req := loadRequest(t, "testdata/genai.otlp.json")
	first, second := mapOK(t, req), mapOK(t, req)
	if len(first) != len(second) {
		t.Fatalf("%d events, then %d", len(first), len(second))
	}
	for i := range first {
		if !proto.Equal(first[i], second[i]) {
			t.Errorf("event %d differs between two mappings", i)
		}
	}
	ids := map[string]bool{}
	for _, ev := range first {
		if ids[ev.GetId()] {
			t.Errorf("event id %q used twice", ev.GetId())
		}
		ids[ev.GetId()] = true
	}
	// The same span twice in one request is one observation.
	dup := request(nil, rootSpan(nil), rootSpan(map[string]any{"x": 1}))
	n := 0
	for _, ev := range mapOK(t, dup) {
		if ev.GetObservation() != nil {
			n++
			if _, ok := ev.GetObservation().GetMetadata()["x"]; ok {
				t.Errorf("the second copy won")
			}
		}
	}
	if n != 1 {
		t.Errorf("%d observations from a repeated span, want 1", n)
	}
}

func TestMapRefusesInvalidSpans(t *testing.T) {
	bad := childSpan(1, 0, time.Second, nil)
	bad.TraceId = nil
	req := request(nil, rootSpan(nil), bad)
	_, err := otlpmap.Map(req)
	var spanErr *otlpmap.SpanError
	if !errors.As(err, &spanErr) || !errors.Is(err, otlpmap.ErrInvalidSpan) || spanErr.Span != 1 ||
		!strings.Contains(err.Error(), "resource_spans[0].scope_spans[0].spans[1]: invalid span: trace_id") {
		t.Fatalf("Map = %v", err)
	}
}

func TestEventObservations(t *testing.T) {
	s := rootSpan(nil)
	s.Events = []*tracev1.Span_Event{
		{Name: "exception", TimeUnixNano: at(time.Millisecond)},
		{Name: "cache.miss", TimeUnixNano: at(2 * time.Millisecond), Attributes: kvs(map[string]any{"key": "k"}), DroppedAttributesCount: 1},
		{Name: "untimed"},
	}
	events := mapOK(t, request(map[string]any{"deployment.environment.name": "prod"}, s))
	miss := observation(t, events, rootHex+"-1")
	if miss.GetParentObservationId() != rootHex || miss.GetTraceId() != traceHex ||
		miss.GetType() != commonv1.ObservationType_OBSERVATION_TYPE_EVENT || miss.GetName() != "cache.miss" ||
		!miss.GetStartTime().AsTime().Equal(t0.Add(2*time.Millisecond)) || !proto.Equal(miss.GetStartTime(), miss.GetEndTime()) ||
		miss.GetEnvironment() != "prod" ||
		!equalMaps(miss.GetMetadata(), map[string]string{"key": "k", "otel.dropped_attributes_count": "1"}) {
		t.Errorf("event observation = %v", miss)
	}
	if untimed := observation(t, events, rootHex+"-2"); !untimed.GetStartTime().AsTime().Equal(t0) {
		t.Errorf("an event without a time starts with its span, got %v", untimed.GetStartTime().AsTime())
	}
}

func TestBounds(t *testing.T) {
	long := strings.Repeat("é", 2000) // 4000 bytes
	tags := make([]any, 150)
	for i := range tags {
		tags[i] = strings.Repeat("t", i+1)
	}
	s := rootSpan(map[string]any{"agenttrace.user.id": long, "agenttrace.tags": tags, "gen_ai.request.model": long})
	s.Name = long
	events := mapOK(t, request(nil, s))
	o := observation(t, events, rootHex)
	got := mergedTrace(events)
	for field, v := range map[string]string{"name": o.GetName(), "model": o.GetModel(), "user_id": got.GetUserId()} {
		limit := 1024
		if field == "user_id" {
			limit = 256
		}
		if len(v) > limit || !strings.HasPrefix(long, v) {
			t.Errorf("%s: %d bytes, not a clean prefix within %d", field, len(v), limit)
		}
	}
	if len(got.GetTags()) != 100 {
		t.Errorf("%d tags, want the first 100", len(got.GetTags()))
	}
}

func TestInvalidUTF8IsRepaired(t *testing.T) {
	s := rootSpan(map[string]any{"k\xff": "v\xfe", "agenttrace.observation.input": map[string]any{"a\xff": "b\xff"}})
	s.Name = "n\xff"
	o := observation(t, mapOK(t, request(nil, s)), rootHex)
	if _, err := proto.Marshal(o); err != nil {
		t.Fatalf("observation does not marshal: %v", err)
	}
	if o.GetName() != "n\uFFFD" || o.GetMetadata()["k\uFFFD"] != "v\uFFFD" {
		t.Errorf("name %q, metadata %v", o.GetName(), o.GetMetadata())
	}
}
