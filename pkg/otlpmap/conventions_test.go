package otlpmap_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
)

// Tests of the Langfuse (langfuse.*) and Vercel AI SDK (ai.*) conventions
// and of their precedence against the others; the fixtures
// langfuse_v5 and vercel_ai pin what the real SDKs send.

func TestLangfuseAndVercelTypes(t *testing.T) {
	const (
		span       = commonv1.ObservationType_OBSERVATION_TYPE_SPAN
		generation = commonv1.ObservationType_OBSERVATION_TYPE_GENERATION
		embedding  = commonv1.ObservationType_OBSERVATION_TYPE_EMBEDDING
		tool       = commonv1.ObservationType_OBSERVATION_TYPE_TOOL
		chain      = commonv1.ObservationType_OBSERVATION_TYPE_CHAIN
	)
	tests := []struct {
		name     string
		spanName string
		attrs    map[string]any
		want     commonv1.ObservationType
	}{
		{"langfuse generation", "", map[string]any{"langfuse.observation.type": "generation"}, generation},
		{"langfuse agent", "", map[string]any{"langfuse.observation.type": "agent"}, commonv1.ObservationType_OBSERVATION_TYPE_AGENT},
		{"langfuse tool", "", map[string]any{"langfuse.observation.type": "tool"}, tool},
		{"langfuse chain", "", map[string]any{"langfuse.observation.type": "chain"}, chain},
		{"langfuse retriever", "", map[string]any{"langfuse.observation.type": "retriever"}, commonv1.ObservationType_OBSERVATION_TYPE_RETRIEVER},
		{"langfuse embedding", "", map[string]any{"langfuse.observation.type": "embedding"}, embedding},
		{"langfuse evaluator", "", map[string]any{"langfuse.observation.type": "evaluator"}, commonv1.ObservationType_OBSERVATION_TYPE_EVALUATOR},
		{"langfuse guardrail", "", map[string]any{"langfuse.observation.type": "guardrail"}, commonv1.ObservationType_OBSERVATION_TYPE_GUARDRAIL},
		{"langfuse event", "", map[string]any{"langfuse.observation.type": "event"}, commonv1.ObservationType_OBSERVATION_TYPE_EVENT},
		{"langfuse span beats an implied generation", "", map[string]any{"langfuse.observation.type": "span", "gen_ai.request.model": "m"}, span},
		{"langfuse upper case", "", map[string]any{"langfuse.observation.type": "GENERATION"}, generation},
		{"langfuse beats openinference", "", map[string]any{"langfuse.observation.type": "tool", "openinference.span.kind": "LLM"}, tool},
		{"agenttrace beats langfuse", "", map[string]any{"agenttrace.observation.type": "chain", "langfuse.observation.type": "tool"}, chain},
		{"unknown langfuse type falls through", "", map[string]any{"langfuse.observation.type": "banana", "gen_ai.operation.name": "chat"}, generation},
		{"ai doGenerate", "", map[string]any{"ai.operationId": "ai.generateText.doGenerate"}, generation},
		{"ai doStream", "", map[string]any{"ai.operationId": "ai.streamText.doStream"}, generation},
		{"ai object doGenerate", "", map[string]any{"ai.operationId": "ai.generateObject.doGenerate"}, generation},
		{"ai object doStream", "", map[string]any{"ai.operationId": "ai.streamObject.doStream"}, generation},
		{"ai doEmbed", "", map[string]any{"ai.operationId": "ai.embed.doEmbed"}, embedding},
		{"ai embedMany doEmbed", "", map[string]any{"ai.operationId": "ai.embedMany.doEmbed"}, embedding},
		{"ai toolCall", "", map[string]any{"ai.operationId": "ai.toolCall"}, tool},
		{"outer ai call is a span even with a model", "", map[string]any{"ai.operationId": "ai.generateText", "gen_ai.request.model": "m"}, span},
		{"outer embedMany", "", map[string]any{"ai.operationId": "ai.embedMany"}, span},
		{"span name without operation id", "ai.streamText.doStream", nil, generation},
		{"unknown operation id falls through to implication", "", map[string]any{"ai.operationId": "ai.other", "gen_ai.request.model": "m"}, generation},
		{"genai operation beats the ai operation", "", map[string]any{"gen_ai.operation.name": "execute_tool", "ai.operationId": "ai.generateText.doGenerate"}, tool},
		{"langfuse beats the ai operation", "", map[string]any{"langfuse.observation.type": "chain", "ai.operationId": "ai.toolCall"}, chain},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := rootSpan(tt.attrs)
			if tt.spanName != "" {
				s.Name = tt.spanName
			}
			o := observation(t, mapOK(t, request(nil, s)), rootHex)
			if o.GetType() != tt.want {
				t.Errorf("type = %v, want %v", o.GetType(), tt.want)
			}
		})
	}
}

func TestLangfuseAndVercelUsageAndCost(t *testing.T) {
	i := proto.Int64
	f := proto.Float64
	gen := "generation"
	tests := []struct {
		name   string
		attrs  map[string]any
		usage  *commonv1.Usage
		cost   *commonv1.Cost
		meta   map[string]string // entries that must be in metadata
		noMeta []string          // keys that must not be
	}{
		{name: "langfuse usage and cost details",
			attrs: map[string]any{"langfuse.observation.type": gen,
				"langfuse.observation.usage_details": `{"input":5,"output":7,"total":28,"input_cached_tokens":16}`,
				"langfuse.observation.cost_details":  `{"input":0.5,"output":0.25}`},
			usage:  &commonv1.Usage{Input: i(21), Output: i(7), Total: i(28), Details: map[string]int64{"cached_input": 16}},
			cost:   &commonv1.Cost{Input: f(0.5), Output: f(0.25), Total: f(0.75)},
			noMeta: []string{"langfuse.observation.usage_details", "langfuse.observation.cost_details"}},
		{name: "langfuse counts each key apart: its details are added to input and output",
			attrs: map[string]any{"langfuse.observation.type": gen,
				"langfuse.observation.usage_details": `{"input":100,"input_cached_tokens":400,"output":50,"output_reasoning_tokens":20,"web_search":1}`},
			usage: &commonv1.Usage{Input: i(500), Output: i(70), Total: i(570),
				Details: map[string]int64{"cached_input": 400, "reasoning_output": 20, "web_search": 1}}},
		{name: "anthropic's cache names through langfuse",
			attrs: map[string]any{"langfuse.observation.type": gen,
				"langfuse.observation.usage_details": `{"input":10,"cache_read_input_tokens":300,"cache_creation_input_tokens":200,"output":5}`},
			usage: &commonv1.Usage{Input: i(510), Output: i(5), Total: i(515),
				Details: map[string]int64{"cached_input": 300, "cache_creation_input": 200}}},
		{name: "langfuse total derived from its parts",
			attrs: map[string]any{"langfuse.observation.type": gen, "langfuse.observation.usage_details": `{"input":3,"output":2}`},
			usage: &commonv1.Usage{Input: i(3), Output: i(2), Total: i(5)}},
		{name: "malformed usage JSON keeps the span and stays metadata",
			attrs: map[string]any{"langfuse.observation.type": gen, "langfuse.observation.usage_details": `{"input":21,`,
				"gen_ai.usage.input_tokens": 4},
			usage: &commonv1.Usage{Input: i(4), Total: i(4)},
			meta:  map[string]string{"langfuse.observation.usage_details": `{"input":21,`}},
		{name: "usage JSON that is not an object stays metadata",
			attrs: map[string]any{"langfuse.observation.type": gen, "langfuse.observation.usage_details": `[1,2]`},
			meta:  map[string]string{"langfuse.observation.usage_details": `[1,2]`}},
		{name: "usable entries are used, the attribute kept whole beside them",
			attrs: map[string]any{"langfuse.observation.type": gen,
				"langfuse.observation.usage_details": `{"input":5,"output":-1,"note":"x","ratio":0.5}`},
			usage: &commonv1.Usage{Input: i(5), Total: i(5)},
			meta:  map[string]string{"langfuse.observation.usage_details": `{"input":5,"output":-1,"note":"x","ratio":0.5}`}},
		{name: "explicit agenttrace counts beat langfuse, langfuse beats genai",
			attrs: map[string]any{"langfuse.observation.type": gen, "agenttrace.usage.input": 100,
				"langfuse.observation.usage_details": `{"input":21,"output":7}`, "gen_ai.usage.output_tokens": 9},
			usage: &commonv1.Usage{Input: i(100), Output: i(7), Total: i(107)},
			meta:  map[string]string{"gen_ai.usage.output_tokens": "9"}},
		{name: "a langfuse detail wins over the convention's of the same name",
			attrs: map[string]any{"langfuse.observation.type": gen,
				"langfuse.observation.usage_details": `{"input":10,"cached_input":4}`, "gen_ai.usage.cache_read.input_tokens": 3},
			usage: &commonv1.Usage{Input: i(14), Total: i(14), Details: map[string]int64{"cached_input": 4}},
			meta:  map[string]string{"gen_ai.usage.cache_read.input_tokens": "3"}},
		{name: "cost details with an unknown key stay metadata, known keys used",
			attrs: map[string]any{"langfuse.observation.type": gen, "langfuse.observation.cost_details": `{"total":1.5,"tax":0.1}`},
			cost:  &commonv1.Cost{Total: f(1.5)},
			meta:  map[string]string{"langfuse.observation.cost_details": `{"total":1.5,"tax":0.1}`}},
		{name: "malformed cost JSON stays metadata",
			attrs: map[string]any{"langfuse.observation.type": gen, "langfuse.observation.cost_details": `nope`},
			meta:  map[string]string{"langfuse.observation.cost_details": "nope"}},
		{name: "explicit cost beats langfuse",
			attrs: map[string]any{"langfuse.observation.type": gen, "agenttrace.cost.total": 2.0,
				"langfuse.observation.cost_details": `{"total":1.0}`},
			cost: &commonv1.Cost{Total: f(2)}},
		{name: "langfuse usage on a span stays metadata",
			attrs: map[string]any{"langfuse.observation.type": "span", "langfuse.observation.usage_details": `{"input":1}`},
			meta:  map[string]string{"langfuse.observation.usage_details": `{"input":1}`}},
		{name: "ai v5 counts and details",
			attrs: map[string]any{"ai.operationId": "ai.streamText.doStream", "ai.usage.inputTokens": 100, "ai.usage.outputTokens": 20,
				"ai.usage.totalTokens": 120, "ai.usage.cachedInputTokens": 64, "ai.usage.reasoningTokens": 5},
			usage: &commonv1.Usage{Input: i(100), Output: i(20), Total: i(120),
				Details: map[string]int64{"cached_input": 64, "reasoning_output": 5}}},
		{name: "ai v4 counts",
			attrs: map[string]any{"ai.operationId": "ai.generateText.doGenerate", "ai.usage.promptTokens": 52, "ai.usage.completionTokens": 14},
			usage: &commonv1.Usage{Input: i(52), Output: i(14), Total: i(66)}},
		{name: "genai counts the ai sdk sets beside its own win",
			attrs: map[string]any{"ai.operationId": "ai.generateText.doGenerate", "gen_ai.usage.input_tokens": 52, "ai.usage.promptTokens": 51},
			usage: &commonv1.Usage{Input: i(52), Total: i(52)},
			meta:  map[string]string{"ai.usage.promptTokens": "51"}},
		{name: "an embedding's tokens are its input",
			attrs: map[string]any{"ai.operationId": "ai.embed.doEmbed", "ai.usage.tokens": 3},
			usage: &commonv1.Usage{Input: i(3), Total: i(3)}},
		{name: "ai.usage.tokens on a generation is not an input count",
			attrs: map[string]any{"ai.operationId": "ai.generateText.doGenerate", "ai.usage.tokens": 3},
			meta:  map[string]string{"ai.usage.tokens": "3"}},
		{name: "the outer ai call repeats its steps' usage: metadata",
			attrs: map[string]any{"ai.operationId": "ai.generateText", "ai.usage.promptTokens": 80},
			meta:  map[string]string{"ai.usage.promptTokens": "80"}},
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
			for _, k := range tt.noMeta {
				if _, ok := o.GetMetadata()[k]; ok {
					t.Errorf("consumed %q also in metadata", k)
				}
			}
		})
	}
}

func TestLangfuseAndVercelModel(t *testing.T) {
	tests := []struct {
		name   string
		attrs  map[string]any
		model  string
		params map[string]string
		meta   map[string]string
	}{
		{name: "langfuse model and parameters",
			attrs: map[string]any{"langfuse.observation.model.name": "gpt-4o-mini", "gen_ai.response.model": "other",
				"langfuse.observation.model.parameters": `{"temperature":0.2,"stop":["x"]}`},
			model: "gpt-4o-mini", params: map[string]string{"temperature": "0.2", "stop": `["x"]`},
			meta: map[string]string{"gen_ai.response.model": "other"}},
		{name: "explicit model beats langfuse",
			attrs: map[string]any{"agenttrace.model": "mine", "langfuse.observation.model.name": "theirs"},
			model: "mine", meta: map[string]string{"langfuse.observation.model.name": "theirs"}},
		{name: "malformed parameters JSON stays metadata",
			attrs: map[string]any{"langfuse.observation.model.parameters": `{"temperature":`},
			meta:  map[string]string{"langfuse.observation.model.parameters": `{"temperature":`}},
		{name: "ai resolved model beats the requested one",
			attrs: map[string]any{"ai.model.id": "claude-3-5-haiku-latest", "ai.response.model": "claude-3-5-haiku-20241022",
				"ai.model.provider": "anthropic.messages"},
			model: "claude-3-5-haiku-20241022",
			meta:  map[string]string{"ai.model.id": "claude-3-5-haiku-latest", "ai.model.provider": "anthropic.messages"}},
		{name: "genai response model beats the ai names",
			attrs: map[string]any{"ai.model.id": "a", "ai.response.model": "b", "gen_ai.response.model": "c", "gen_ai.request.model": "a"},
			model: "c"},
		{name: "ai model id alone",
			attrs: map[string]any{"ai.model.id": "text-embedding-3-small"}, model: "text-embedding-3-small"},
		{name: "ai settings, genai parameters and langfuse parameters: later wins a key",
			attrs: map[string]any{"ai.settings.temperature": 0.3, "ai.settings.maxOutputTokens": 200,
				"gen_ai.request.temperature": 0.1, "gen_ai.request.max_tokens": 200,
				"langfuse.observation.model.parameters": `{"temperature":0.9}`},
			params: map[string]string{"temperature": "0.9", "maxOutputTokens": "200", "max_tokens": "200"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := observation(t, mapOK(t, request(nil, rootSpan(tt.attrs))), rootHex)
			if o.GetModel() != tt.model {
				t.Errorf("model = %q, want %q", o.GetModel(), tt.model)
			}
			if len(tt.params) > 0 && !equalMaps(o.GetModelParameters(), tt.params) {
				t.Errorf("model_parameters = %v, want %v", o.GetModelParameters(), tt.params)
			}
			for k, v := range tt.meta {
				if got, ok := o.GetMetadata()[k]; !ok || got != v {
					t.Errorf("metadata[%q] = %q (present %v), want %q", k, got, ok, v)
				}
			}
		})
	}
}

func TestLangfuseLevelStatusAndCompletionStart(t *testing.T) {
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	tests := []struct {
		name       string
		attrs      map[string]any
		level      commonv1.ObservationLevel
		status     string
		completion time.Time // zero: unset
		meta       []string  // keys that must stay in metadata
	}{
		{name: "langfuse level and message", attrs: map[string]any{"langfuse.observation.level": "WARNING",
			"langfuse.observation.status_message": "slow"},
			level: commonv1.ObservationLevel_OBSERVATION_LEVEL_WARNING, status: "slow"},
		{name: "langfuse debug", attrs: map[string]any{"langfuse.observation.level": "DEBUG"},
			level: commonv1.ObservationLevel_OBSERVATION_LEVEL_DEBUG},
		{name: "agenttrace level beats langfuse", attrs: map[string]any{"agenttrace.level": "ERROR", "langfuse.observation.level": "DEBUG"},
			level: commonv1.ObservationLevel_OBSERVATION_LEVEL_ERROR, meta: []string{"langfuse.observation.level"}},
		{name: "an unknown langfuse level stays metadata", attrs: map[string]any{"langfuse.observation.level": "LOUD"},
			level: commonv1.ObservationLevel_OBSERVATION_LEVEL_DEFAULT, meta: []string{"langfuse.observation.level"}},
		{name: "JSON-quoted completion start", attrs: map[string]any{"langfuse.observation.completion_start_time": `"2025-06-01T12:00:00.250Z"`},
			level: commonv1.ObservationLevel_OBSERVATION_LEVEL_DEFAULT, completion: ms(250)},
		{name: "naive Python datetime is UTC", attrs: map[string]any{"langfuse.observation.completion_start_time": `"2025-06-01T12:00:00.125000"`},
			level: commonv1.ObservationLevel_OBSERVATION_LEVEL_DEFAULT, completion: ms(125)},
		{name: "completion before the start stays metadata", attrs: map[string]any{"langfuse.observation.completion_start_time": `"2025-06-01T11:00:00Z"`},
			level: commonv1.ObservationLevel_OBSERVATION_LEVEL_DEFAULT, meta: []string{"langfuse.observation.completion_start_time"}},
		{name: "garbage completion stays metadata", attrs: map[string]any{"langfuse.observation.completion_start_time": `"soon"`},
			level: commonv1.ObservationLevel_OBSERVATION_LEVEL_DEFAULT, meta: []string{"langfuse.observation.completion_start_time"}},
		{name: "explicit completion beats langfuse", attrs: map[string]any{"agenttrace.completion_start_time": "2025-06-01T12:00:00.1Z",
			"langfuse.observation.completion_start_time": `"2025-06-01T12:00:00.2Z"`},
			level: commonv1.ObservationLevel_OBSERVATION_LEVEL_DEFAULT, completion: ms(100), meta: []string{"langfuse.observation.completion_start_time"}},
		{name: "ai ms to first chunk", attrs: map[string]any{"ai.response.msToFirstChunk": 163.5},
			level: commonv1.ObservationLevel_OBSERVATION_LEVEL_DEFAULT, completion: t0.Add(163500 * time.Microsecond)},
		{name: "langfuse beats ai", attrs: map[string]any{"ai.response.msToFirstChunk": 10.0,
			"langfuse.observation.completion_start_time": `"2025-06-01T12:00:00.2Z"`},
			level: commonv1.ObservationLevel_OBSERVATION_LEVEL_DEFAULT, completion: ms(200), meta: []string{"ai.response.msToFirstChunk"}},
		{name: "negative ms stays metadata", attrs: map[string]any{"ai.response.msToFirstChunk": -5.0},
			level: commonv1.ObservationLevel_OBSERVATION_LEVEL_DEFAULT, meta: []string{"ai.response.msToFirstChunk"}},
		{name: "ms beyond the range stays metadata", attrs: map[string]any{"ai.response.msToFirstChunk": 1e300},
			level: commonv1.ObservationLevel_OBSERVATION_LEVEL_DEFAULT, meta: []string{"ai.response.msToFirstChunk"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := observation(t, mapOK(t, request(nil, rootSpan(tt.attrs))), rootHex)
			if o.GetLevel() != tt.level || o.GetStatusMessage() != tt.status {
				t.Errorf("level %v %q, want %v %q", o.GetLevel(), o.GetStatusMessage(), tt.level, tt.status)
			}
			switch {
			case tt.completion.IsZero() && o.GetCompletionStartTime() != nil:
				t.Errorf("completion start = %v, want none", o.GetCompletionStartTime().AsTime())
			case !tt.completion.IsZero() && !o.GetCompletionStartTime().AsTime().Equal(tt.completion):
				t.Errorf("completion start = %v, want %v", o.GetCompletionStartTime().AsTime(), tt.completion)
			}
			for _, k := range tt.meta {
				if _, ok := o.GetMetadata()[k]; !ok {
					t.Errorf("metadata lacks %q: %v", k, o.GetMetadata())
				}
			}
		})
	}
}

func TestLangfuseAndVercelContent(t *testing.T) {
	tests := []struct {
		name    string
		attrs   map[string]any
		in, out string // compact JSON; "" for none
	}{
		{name: "langfuse JSON and plain text",
			attrs: map[string]any{"langfuse.observation.input": `{"q":"x"}`, "langfuse.observation.output": "plain"},
			in:    `{"q":"x"}`, out: `"plain"`},
		{name: "langfuse text that looks like a number stays text",
			attrs: map[string]any{"langfuse.observation.input": "42"}, in: `"42"`},
		{name: "agenttrace beats langfuse, langfuse beats genai",
			attrs: map[string]any{"agenttrace.observation.input": "mine", "langfuse.observation.input": "lf",
				"langfuse.observation.output": "lf-out", "gen_ai.output.messages": `[{"role":"assistant"}]`},
			in: `"mine"`, out: `"lf-out"`},
		{name: "ai messages are preferred over the prompt",
			attrs: map[string]any{"ai.prompt.messages": `[{"role":"user","content":"hi"}]`, "ai.prompt": `{"prompt":"hi"}`},
			in:    `[{"content":"hi","role":"user"}]`},
		{name: "ai prompt alone",
			attrs: map[string]any{"ai.prompt": `{"system":"S","prompt":"hi"}`}, in: `{"prompt":"hi","system":"S"}`},
		{name: "ai text and tool calls make one assistant message",
			attrs: map[string]any{"ai.response.text": "Let me check.",
				"ai.response.toolCalls": `[{"toolCallId":"c1","toolName":"f","input":"{}"}]`},
			out: `{"content":"Let me check.","role":"assistant","tool_calls":[{"input":"{}","toolCallId":"c1","toolName":"f"}]}`},
		{name: "ai text alone is text, even when it looks like JSON",
			attrs: map[string]any{"ai.response.text": `{"a":1}`}, out: `"{\"a\":1}"`},
		{name: "ai object",
			attrs: map[string]any{"ai.response.object": `{"name":"x"}`}, out: `{"name":"x"}`},
		{name: "ai tool call args and result",
			attrs: map[string]any{"ai.operationId": "ai.toolCall", "ai.toolCall.name": "getWeather",
				"ai.toolCall.args": `{"city":"Berlin"}`, "ai.toolCall.result": `"sunny"`},
			in: `{"city":"Berlin"}`, out: `"sunny"`},
		{name: "ai embedMany values and embeddings",
			attrs: map[string]any{"ai.values": []any{`"a"`, `"b"`, "not json"}, "ai.embeddings": []any{"[1,2]", "[3]"}},
			in:    `["a","b","not json"]`, out: `[[1,2],[3]]`},
		{name: "genai messages beat the ai prompt",
			attrs: map[string]any{"gen_ai.input.messages": `[{"role":"user"}]`, "ai.prompt.messages": `[{"role":"x"}]`},
			in:    `[{"role":"user"}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := observation(t, mapOK(t, request(nil, rootSpan(tt.attrs))), rootHex)
			if got := jsonOf(t, o.GetInput()); got != tt.in {
				t.Errorf("input = %s, want %s", got, tt.in)
			}
			if got := jsonOf(t, o.GetOutput()); got != tt.out {
				t.Errorf("output = %s, want %s", got, tt.out)
			}
		})
	}
}

// A Vercel tool call is named after its tool; an outer ai.* root names its
// trace after its function id unless a span names the trace explicitly.
func TestVercelNames(t *testing.T) {
	root := rootSpan(map[string]any{"ai.operationId": "ai.generateText", "ai.telemetry.functionId": "weather-chat"})
	root.Name = "ai.generateText"
	toolSpan := childSpan(1, 10*time.Millisecond, 20*time.Millisecond,
		map[string]any{"ai.operationId": "ai.toolCall", "ai.toolCall.name": "getWeather"})
	toolSpan.Name = "ai.toolCall"
	events := mapOK(t, request(nil, root, toolSpan))
	if got := observation(t, events, "c000000000000001").GetName(); got != "getWeather" {
		t.Errorf("tool observation name = %q, want getWeather", got)
	}
	if got := observation(t, events, rootHex).GetName(); got != "ai.generateText" {
		t.Errorf("root observation name = %q, want the span name", got)
	}
	if got := mergedTrace(events).GetName(); got != "weather-chat" {
		t.Errorf("trace name = %q, want the function id", got)
	}
	if got := observation(t, events, rootHex).GetMetadata()["ai.telemetry.functionId"]; got != "weather-chat" {
		t.Errorf("the function id must stay in the observation's metadata, got %q", got)
	}
	named := childSpan(2, 0, 30*time.Millisecond, map[string]any{"langfuse.trace.name": "explicit"})
	if got := mergedTrace(mapOK(t, request(nil, root, named))).GetName(); got != "explicit" {
		t.Errorf("trace name = %q, want the explicit one", got)
	}
}

// Langfuse and the Vercel AI SDK put user, session, tags and metadata on
// the children; any span of the request sets them on the trace.
func TestLangfuseAndVercelTraceFields(t *testing.T) {
	tests := []struct {
		name  string
		child map[string]any
		check func(t *testing.T, user, session string, tags []string, meta map[string]string, env, release, version string)
	}{
		{name: "langfuse", child: map[string]any{
			"user.id": "u1", "session.id": "s1", "langfuse.trace.tags": []any{"a", "b"}, "langfuse.trace.public": true,
			"langfuse.trace.metadata.tenant": "acme", "langfuse.environment": "staging", "langfuse.release": "r1",
			"langfuse.version": "v1", "langfuse.trace.name": "T"},
			check: func(t *testing.T, user, session string, tags []string, meta map[string]string, env, release, version string) {
				if user != "u1" || session != "s1" || strings.Join(tags, ",") != "a,b" || meta["public"] != "true" ||
					meta["tenant"] != "acme" || env != "staging" || release != "r1" || version != "v1" {
					t.Errorf("got %q %q %v %v %q %q %q", user, session, tags, meta, env, release, version)
				}
			}},
		{name: "langfuse compatibility ids beat user.id", child: map[string]any{
			"langfuse.user.id": "lf", "user.id": "otel", "langfuse.session.id": "lfs", "session.id": "otels"},
			check: func(t *testing.T, user, session string, _ []string, _ map[string]string, _, _, _ string) {
				if user != "lf" || session != "lfs" {
					t.Errorf("user %q session %q", user, session)
				}
			}},
		{name: "langfuse tags as JSON text and whole metadata object", child: map[string]any{
			"langfuse.trace.tags": `["x","y"]`, "langfuse.trace.metadata": `{"k":"v","n":2}`},
			check: func(t *testing.T, _, _ string, tags []string, meta map[string]string, _, _, _ string) {
				if strings.Join(tags, ",") != "x,y" || meta["k"] != "v" || meta["n"] != "2" {
					t.Errorf("tags %v meta %v", tags, meta)
				}
			}},
		{name: "vercel telemetry metadata", child: map[string]any{
			"ai.telemetry.metadata.userId": "u9", "ai.telemetry.metadata.sessionId": "c77",
			"ai.telemetry.metadata.tags": []any{"weather"}, "ai.telemetry.metadata.plan": "pro"},
			check: func(t *testing.T, user, session string, tags []string, meta map[string]string, _, _, _ string) {
				if user != "u9" || session != "c77" || strings.Join(tags, ",") != "weather" || meta["plan"] != "pro" {
					t.Errorf("got %q %q %v %v", user, session, tags, meta)
				}
				for _, k := range []string{"userId", "sessionId", "tags"} {
					if _, ok := meta[k]; ok {
						t.Errorf("%q taken as a typed field is also metadata", k)
					}
				}
			}},
		{name: "vercel tags as JSON text", child: map[string]any{"ai.telemetry.metadata.tags": `["p","q"]`},
			check: func(t *testing.T, _, _ string, tags []string, _ map[string]string, _, _, _ string) {
				if strings.Join(tags, ",") != "p,q" {
					t.Errorf("tags %v", tags)
				}
			}},
		{name: "user.id beats the vercel user, which stays trace metadata", child: map[string]any{
			"user.id": "otel", "ai.telemetry.metadata.userId": "vercel"},
			check: func(t *testing.T, user, _ string, _ []string, meta map[string]string, _, _, _ string) {
				if user != "otel" || meta["userId"] != "vercel" {
					t.Errorf("user %q meta %v", user, meta)
				}
			}},
		{name: "agenttrace beats langfuse", child: map[string]any{
			"agenttrace.environment": "e1", "langfuse.environment": "e2", "agenttrace.user.id": "a", "langfuse.user.id": "b"},
			check: func(t *testing.T, user, _ string, _ []string, _ map[string]string, env, _, _ string) {
				if user != "a" || env != "e1" {
					t.Errorf("user %q env %q", user, env)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events := mapOK(t, request(map[string]any{"deployment.environment.name": "prod"},
				rootSpan(nil), childSpan(1, 10*time.Millisecond, 20*time.Millisecond, tt.child)))
			got := mergedTrace(events)
			tt.check(t, got.GetUserId(), got.GetSessionId(), got.GetTags(), got.GetMetadata(),
				got.GetEnvironment(), got.GetRelease(), got.GetVersion())
			// Twice the same request, the same events.
			again := mapOK(t, request(map[string]any{"deployment.environment.name": "prod"},
				rootSpan(nil), childSpan(1, 10*time.Millisecond, 20*time.Millisecond, tt.child)))
			for i := range events {
				if !proto.Equal(events[i], again[i]) {
					t.Fatalf("event %d differs between two mappings", i)
				}
			}
		})
	}
}

func TestLangfuseObservationMetadata(t *testing.T) {
	o := observation(t, mapOK(t, request(nil, rootSpan(map[string]any{
		"langfuse.observation.metadata.attempt":  "1",
		"langfuse.observation.metadata.nested":   `{"a":1}`,
		"langfuse.observation.prompt.name":       "support-answer",
		"langfuse.observation.prompt.version":    3,
		"langfuse.internal.is_app_root":          true,
		"langfuse.experiment.id":                 "exp-1",
		"agenttrace.observation.metadata.source": "sdk",
	}))), rootHex)
	want := map[string]string{"attempt": "1", "nested": `{"a":1}`, "prompt.name": "support-answer", "prompt.version": "3",
		"langfuse.internal.is_app_root": "true", "langfuse.experiment.id": "exp-1", "source": "sdk"}
	for k, v := range want {
		if got, ok := o.GetMetadata()[k]; !ok || got != v {
			t.Errorf("metadata[%q] = %q (present %v), want %q", k, got, ok, v)
		}
	}
	for _, k := range []string{"langfuse.observation.metadata.attempt", "langfuse.observation.prompt.name"} {
		if _, ok := o.GetMetadata()[k]; ok {
			t.Errorf("%q kept under its attribute name too", k)
		}
	}
	whole := observation(t, mapOK(t, request(nil, rootSpan(map[string]any{"langfuse.observation.metadata": `"just text"`}))), rootHex)
	if got := whole.GetMetadata()["metadata"]; got != `"just text"` {
		t.Errorf("non-object observation metadata = %q", got)
	}
}

// Process, host, SDK and similar resource attributes are kept as one JSON
// entry, not as trace metadata keys of their own.
func TestRuntimeResourceAttributes(t *testing.T) {
	events := mapOK(t, request(map[string]any{
		"service.name": "svc", "deployment.environment.name": "prod", "team": "payments",
		"process.pid": 42, "process.command_args": []any{"node", "app.js"}, "host.name": "h1",
		"telemetry.sdk.language": "nodejs", "os.type": "linux", "container.id": "abc",
	}, rootSpan(nil)))
	meta := mergedTrace(events).GetMetadata()
	for _, k := range []string{"resource.service.name", "resource.deployment.environment.name", "resource.team"} {
		if _, ok := meta[k]; !ok {
			t.Errorf("trace metadata lacks %q: %v", k, meta)
		}
	}
	for k := range meta {
		if strings.HasPrefix(k, "resource.process.") || strings.HasPrefix(k, "resource.host.") ||
			strings.HasPrefix(k, "resource.telemetry.") || strings.HasPrefix(k, "resource.os.") {
			t.Errorf("runtime attribute %q is a metadata key of its own", k)
		}
	}
	var runtime map[string]any
	if err := json.Unmarshal([]byte(meta["resource.runtime"]), &runtime); err != nil {
		t.Fatalf("resource.runtime = %q: %v", meta["resource.runtime"], err)
	}
	want := `{"container.id":"abc","host.name":"h1","os.type":"linux","process.command_args":["node","app.js"],"process.pid":42,"telemetry.sdk.language":"nodejs"}`
	if got, _ := json.Marshal(runtime); string(got) != want {
		t.Errorf("resource.runtime = %s, want %s", got, want)
	}
}

// FuzzJSONAttributes feeds arbitrary text to the attributes whose JSON or
// time text the mapping decodes (Langfuse's details, parameters, metadata
// and times; the Vercel AI SDK's prompt, response and tool values): Map
// never fails or panics on them, keeps its guarantees, and a usage_details
// value it did not take whole stays in metadata.
func FuzzJSONAttributes(f *testing.F) {
	for _, seed := range []string{
		`{"input":21,"output":7,"total":28,"input_cached_tokens":16}`, `{"input":21,`, `[1,2]`, `"2025-06-01T12:00:00.250Z"`,
		`"2025-06-01T12:00:00.125000"`, `{"temperature":0.2}`, `[{"toolCallId":"c1","toolName":"f","input":"{}"}]`,
		`{"input":1e308,"output":-0,"x":null}`, strings.Repeat("[", 40), `"\ud800"`, ``,
	} {
		f.Add(seed)
	}
	keys := []string{
		"langfuse.observation.usage_details", "langfuse.observation.cost_details", "langfuse.observation.model.parameters",
		"langfuse.observation.completion_start_time", "langfuse.observation.input", "langfuse.observation.metadata",
		"langfuse.trace.metadata", "langfuse.trace.tags", "langfuse.trace.input", "ai.prompt.messages", "ai.prompt",
		"ai.response.toolCalls", "ai.response.object", "ai.toolCall.args", "ai.toolCall.result", "ai.telemetry.metadata.tags",
	}
	f.Fuzz(func(t *testing.T, value string) {
		attrs := map[string]any{"langfuse.observation.type": "generation", "ai.response.text": "t", "ai.values": []any{value}}
		for _, k := range keys {
			attrs[k] = value
		}
		events := mapOK(t, request(nil, rootSpan(attrs)))
		checkEvents(t, events)
		o := observation(t, events, rootHex)
		if _, kept := o.GetMetadata()["langfuse.observation.usage_details"]; !kept && value != "" && o.GetUsage() == nil {
			var obj map[string]any
			if json.Unmarshal([]byte(value), &obj) != nil || len(obj) > 0 {
				t.Fatalf("usage_details %q neither mapped nor kept", value)
			}
		}
	})
}
