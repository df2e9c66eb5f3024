package e2e

import (
	"testing"
)

// TestSDKVercelAI runs an app on the Vercel AI SDK (`ai` 5.x with its mock
// models, sdk-js/vercel-ai.js) with experimental_telemetry on, exported
// both ways its users do: the OpenTelemetry JS SDK's OTLP/HTTP exporter to
// /v1/traces, and Langfuse's LangfuseSpanProcessor to
// /api/public/otel/v1/traces. Each of its three calls is one trace; the ai.*
// attributes must land in types, model, usage, cost, input/output and the
// trace's user, session, tags and metadata (from ai.telemetry.metadata).
func TestSDKVercelAI(t *testing.T) {
	s := requireStack(t)
	p := newSDKProject(t, s, "sdk-vercel-ai")
	for _, mode := range []string{"otlp", "langfuse"} {
		t.Run(mode, func(t *testing.T) {
			run := randomHex(4)
			out := runSDKScript(t, s, p, "vercel-ai.js", run, "AGENTTRACE_EXPORT="+mode)
			user, session := "user-ai-"+mode+"-"+run, "session-ai-"+mode+"-"+run
			var traceIDs []string
			for _, fn := range []string{"weather-chat", "greeting-stream", "weather-embed"} {
				w := vercelWant(t, out, fn)
				w.userID, w.sessionID = user, session
				w.tags = []string{"e2e", "vercel-ai", mode}
				w.metadata = map[string]any{"plan": "pro"}
				if mode == "langfuse" {
					w.env = "e2e"
				}
				waitSDKTrace(t, p, w, nil)
				traceIDs = append(traceIDs, w.id)
			}
			checkSDKSession(t, p, session, user, traceIDs...)
			checkSDKListed(t, p, user, mode, traceIDs...)
		})
	}
}

// vercelWant is what the trace of one AI SDK call (by functionId) must show,
// from the spans the SDK ended.
func vercelWant(t *testing.T, out sdkRun, fn string) *sdkTrace {
	t.Helper()
	spans := out.Spans[fn]
	traceID := out.Traces[fn]
	if traceID == "" || len(spans) == 0 {
		t.Fatalf("vercel-ai.js reported no trace for %s: %+v", fn, out)
	}
	// Spans in the order they ended, e.g. the first step's doGenerate
	// before the tool call before the second step's.
	byName := map[string][]sdkSpan{}
	for _, sp := range spans {
		byName[sp.Name] = append(byName[sp.Name], sp)
	}
	one := func(name string, i int) sdkSpan {
		if len(byName[name]) <= i {
			t.Fatalf("%s: the SDK ended %d %q spans, want more than %d: %+v", fn, len(byName[name]), name, i, spans)
		}
		return byName[name][i]
	}
	w := &sdkTrace{id: traceID, name: fn, rollup: true}
	userText := func(text string) []map[string]any {
		return []map[string]any{{"role": "user", "content": []map[string]any{{"type": "text", "text": text}}}}
	}
	switch fn {
	case "weather-chat":
		root, step1, call, step2 := one("ai.generateText", 0), one("ai.generateText.doGenerate", 0), one("ai.toolCall", 0), one("ai.generateText.doGenerate", 1)
		answer := "It is 18°C and sunny in Paris."
		w.input = map[string]any{"system": "You are a weather assistant.", "prompt": "What is the weather in Paris?"}
		w.output = answer
		w.observations = []sdkObs{
			// The outer call repeats its steps' usage: a SPAN, so that it
			// does not count twice.
			{id: root.ID, name: root.Name, typ: typeSpan, input: w.input, output: answer},
			{
				id: step1.ID, parent: root.ID, name: step1.Name, typ: typeGeneration, model: "gpt-4o-mini",
				modelParams: map[string]any{"temperature": 0.3, "maxRetries": 2},
				input: append([]map[string]any{{"role": "system", "content": "You are a weather assistant."}},
					userText("What is the weather in Paris?")...),
				output: map[string]any{"role": "assistant", "tool_calls": []map[string]any{
					{"toolCallId": "call_weather_1", "toolName": "get_weather", "input": `{"city":"Paris"}`},
				}},
				usage: &sdkUsage{input: 1000, output: 100, total: 1100}, priced: true,
			},
			{
				id: call.ID, parent: root.ID, name: "get_weather", typ: typeTool,
				input:  map[string]any{"city": "Paris"},
				output: map[string]any{"city": "Paris", "celsius": 18, "sky": "sunny"},
			},
			{
				id: step2.ID, parent: root.ID, name: step2.Name, typ: typeGeneration, model: "gpt-4o-mini",
				input:  containsText("call_weather_1"),
				output: answer,
				usage:  &sdkUsage{input: 1500, output: 200, total: 1700}, priced: true,
			},
		}
	case "greeting-stream":
		root, stream := one("ai.streamText", 0), one("ai.streamText.doStream", 0)
		w.input = map[string]any{"prompt": "Greet Paris."}
		w.output = "Bonjour, Paris!"
		w.observations = []sdkObs{
			{id: root.ID, name: root.Name, typ: typeSpan, input: w.input, output: "Bonjour, Paris!"},
			{
				id: stream.ID, parent: root.ID, name: stream.Name, typ: typeGeneration, model: "gpt-4o-mini",
				input:           userText("Greet Paris."),
				output:          "Bonjour, Paris!",
				usage:           &sdkUsage{input: 400, output: 50, total: 450},
				priced:          true,
				completionStart: true,
			},
		}
	case "weather-embed":
		root, doEmbed := one("ai.embed", 0), one("ai.embed.doEmbed", 0)
		w.input = "sunny weather in Paris"
		w.output = []float64{0.1, 0.2, 0.3}
		w.observations = []sdkObs{
			{id: root.ID, name: root.Name, typ: typeSpan, input: w.input, output: w.output},
			{
				id: doEmbed.ID, parent: root.ID, name: doEmbed.Name, typ: typeEmbedding, model: "text-embedding-3-small",
				input:  []string{"sunny weather in Paris"},
				output: [][]float64{{0.1, 0.2, 0.3}},
				usage:  &sdkUsage{input: 12, output: 0, total: 12}, priced: true,
			},
		}
	}
	// Span events (ai.stream.firstChunk, ai.stream.finish) are EVENT
	// observations under their span.
	for _, sp := range spans {
		for _, ev := range sp.Events {
			w.observations = append(w.observations, sdkObs{parent: sp.ID, name: ev, typ: typeEvent})
		}
	}
	return w
}
