package e2e

import (
	"testing"
)

// Observation types and levels as the REST API writes them.
const (
	typeSpan       = "OBSERVATION_TYPE_SPAN"
	typeGeneration = "OBSERVATION_TYPE_GENERATION"
	typeEvent      = "OBSERVATION_TYPE_EVENT"
	typeAgent      = "OBSERVATION_TYPE_AGENT"
	typeTool       = "OBSERVATION_TYPE_TOOL"
	typeChain      = "OBSERVATION_TYPE_CHAIN"
	typeEmbedding  = "OBSERVATION_TYPE_EMBEDDING"
	scoreNumeric   = "SCORE_DATA_TYPE_NUMERIC"
	scoreCategory  = "SCORE_DATA_TYPE_CATEGORICAL"
	scoreFromAPI   = "SCORE_SOURCE_API"
)

// TestSDKLangfuseV5 runs the Langfuse v5 JS SDK (sdk-js/langfuse-v5.js:
// @langfuse/tracing over the LangfuseSpanProcessor to
// /api/public/otel/v1/traces, scores through @langfuse/client to
// /api/public/ingestion) and reads the trace back through the query API:
// every langfuse.* attribute the SDK wrote lands in its field, and its
// usage_details (each key a separate unit) become the native counts.
func TestSDKLangfuseV5(t *testing.T) {
	s := requireStack(t)
	p := newSDKProject(t, s, "sdk-langfuse-v5")
	run := randomHex(4)
	out := runSDKScript(t, s, p, "langfuse-v5.js", run)
	ids := out.Observations
	messages := []map[string]any{
		{"role": "system", "content": "You are a support agent."},
		{"role": "user", "content": "Cancel order 7, please."},
	}
	want := &sdkTrace{
		id:        out.TraceID,
		name:      "support-agent-v5",
		userID:    "user-v5-" + run,
		sessionID: "session-v5-" + run,
		tags:      []string{"e2e", "langfuse-v5", "run-" + run},
		metadata:  map[string]any{"plan": "pro", "region": "eu-west-1"},
		release:   "v5-release",
		version:   "5.0.0",
		env:       "e2e",
		input:     map[string]any{"question": "Cancel order 7, please."},
		output:    map[string]any{"answer": "Order 7 is cancelled."},
		rollup:    true,
		observations: []sdkObs{
			{
				id: ids["support-agent"], name: "support-agent", typ: typeAgent,
				input:    map[string]any{"question": "Cancel order 7, please."},
				output:   map[string]any{"answer": "Order 7 is cancelled."},
				metadata: map[string]any{"channel": "chat"},
			},
			{
				id: ids["plan"], parent: ids["support-agent"], name: "plan", typ: typeChain,
				input: map[string]any{"step": "plan"}, output: map[string]any{"tool": "cancel_order"},
			},
			{
				id: ids["plan-llm"], parent: ids["plan"], name: "plan-llm", typ: typeGeneration,
				model:       "gpt-4o-mini",
				modelParams: map[string]any{"temperature": 0.2, "max_tokens": 300},
				input:       messages,
				output:      map[string]any{"role": "assistant", "content": "I will call cancel_order for order 7."},
				// The SDK sent Langfuse's {input: 400, input_cached_tokens: 800,
				// output: 300, total: 1500}: input includes the cached tokens.
				usage:  &sdkUsage{input: 1200, output: 300, total: 1500, cachedInput: 800},
				priced: true,
			},
			{
				id: ids["cancel_order"], parent: ids["support-agent"], name: "cancel_order", typ: typeTool,
				input: map[string]any{"order_id": 7}, output: map[string]any{"cancelled": true},
			},
			{
				id: ids["order-cancelled"], parent: ids["support-agent"], name: "order-cancelled", typ: typeEvent,
				input: map[string]any{"order_id": 7}, level: "OBSERVATION_LEVEL_WARNING", statusMessage: "refund pending",
			},
		},
	}
	scores := []sdkScore{
		{name: "helpfulness", dataType: scoreNumeric, value: 0.9, comment: "solved at once", source: scoreFromAPI},
		{name: "tone", dataType: scoreCategory, value: "polite", observationID: ids["plan-llm"], source: scoreFromAPI},
	}
	waitSDKTrace(t, p, want, scores)
	checkSDKSession(t, p, want.sessionID, want.userID, want.id)
	checkSDKListed(t, p, want.userID, "run-"+run, want.id)
}

// TestSDKLangfuseV3 runs the Langfuse v3 JS SDK (`langfuse` 3.x,
// sdk-js/langfuse-v3.js), which batches creates and updates to
// POST /api/public/ingestion, and reads the trace back: updates merged into
// their creates, metadata kept as JSON, a usage without total totalled,
// usageDetails with Anthropic's cache reads made native counts.
func TestSDKLangfuseV3(t *testing.T) {
	s := requireStack(t)
	p := newSDKProject(t, s, "sdk-langfuse-v3")
	run := randomHex(4)
	out := runSDKScript(t, s, p, "langfuse-v3.js", run)
	ids := out.Observations
	want := &sdkTrace{
		id:        out.TraceID,
		name:      "support-agent-v3",
		userID:    "user-v3-" + run,
		sessionID: "session-v3-" + run,
		tags:      []string{"e2e", "langfuse-v3", "run-" + run},
		// Metadata values are text: what was not a string is kept as its
		// compact JSON (docs/langfuse.md).
		metadata: map[string]any{
			"plan": "pro", "attempts": "3", "ratio": "0.25",
			"flags": `{"beta":true,"tier":2}`, "regions": `["eu","us"]`,
		},
		release: "v3-release",
		version: "3.0.0",
		env:     "e2e",
		input:   map[string]any{"question": "Where is order 9?"},
		output:  map[string]any{"answer": "Order 9 ships tomorrow."},
		rollup:  true,
		observations: []sdkObs{
			{
				id: ids["retrieve"], name: "retrieve", typ: typeSpan,
				input: map[string]any{"query": "order 9"}, output: map[string]any{"documents": 1},
				metadata: map[string]any{"index": "orders"},
			},
			{
				id: ids["answer-llm"], parent: ids["retrieve"], name: "answer-llm", typ: typeGeneration,
				model:       "gpt-4o-mini",
				modelParams: map[string]any{"temperature": 0.1, "maxTokens": 200},
				input: []map[string]any{
					{"role": "system", "content": "You answer order questions."},
					{"role": "user", "content": "Where is order 9?"},
				},
				output: map[string]any{"role": "assistant", "content": "Order 9 ships tomorrow."},
				// usageDetails {input: 1500, cache_read_input_tokens: 500,
				// output: 500} beside usage {input: 2000, output: 500}.
				usage:  &sdkUsage{input: 2000, output: 500, total: 2500, cachedInput: 500},
				priced: true,
			},
			{
				id: ids["feedback-shown"], name: "feedback-shown", typ: typeEvent,
				input: map[string]any{"widget": "thumbs"}, level: "OBSERVATION_LEVEL_DEBUG",
			},
		},
	}
	scores := []sdkScore{
		{name: "accuracy", dataType: scoreNumeric, value: 1, comment: "correct date", source: scoreFromAPI},
	}
	waitSDKTrace(t, p, want, scores)
	checkSDKSession(t, p, want.sessionID, want.userID, want.id)
	checkSDKListed(t, p, want.userID, "run-"+run, want.id)
}
