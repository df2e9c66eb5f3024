package otlpmap

import (
	"strings"

	tracev1 "go.opentelemetry.io/proto/otlp/trace/v1"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
)

// Observation types named by each convention's kind attribute. A value not
// listed falls through to the next convention.
var (
	genAIOperations = map[string]commonv1.ObservationType{
		"chat":             commonv1.ObservationType_OBSERVATION_TYPE_GENERATION,
		"text_completion":  commonv1.ObservationType_OBSERVATION_TYPE_GENERATION,
		"generate_content": commonv1.ObservationType_OBSERVATION_TYPE_GENERATION,
		"embeddings":       commonv1.ObservationType_OBSERVATION_TYPE_EMBEDDING,
		"execute_tool":     commonv1.ObservationType_OBSERVATION_TYPE_TOOL,
		"invoke_agent":     commonv1.ObservationType_OBSERVATION_TYPE_AGENT,
		"create_agent":     commonv1.ObservationType_OBSERVATION_TYPE_AGENT,
		"retrieval":        commonv1.ObservationType_OBSERVATION_TYPE_RETRIEVER,
	}
	openInferenceKinds = map[string]commonv1.ObservationType{
		"LLM":       commonv1.ObservationType_OBSERVATION_TYPE_GENERATION,
		"EMBEDDING": commonv1.ObservationType_OBSERVATION_TYPE_EMBEDDING,
		"CHAIN":     commonv1.ObservationType_OBSERVATION_TYPE_CHAIN,
		"RETRIEVER": commonv1.ObservationType_OBSERVATION_TYPE_RETRIEVER,
		// A reranker reorders retrieved documents: a retrieval step.
		"RERANKER":  commonv1.ObservationType_OBSERVATION_TYPE_RETRIEVER,
		"TOOL":      commonv1.ObservationType_OBSERVATION_TYPE_TOOL,
		"AGENT":     commonv1.ObservationType_OBSERVATION_TYPE_AGENT,
		"GUARDRAIL": commonv1.ObservationType_OBSERVATION_TYPE_GUARDRAIL,
		"EVALUATOR": commonv1.ObservationType_OBSERVATION_TYPE_EVALUATOR,
	}
	traceloopKinds = map[string]commonv1.ObservationType{
		"workflow": commonv1.ObservationType_OBSERVATION_TYPE_CHAIN,
		"task":     commonv1.ObservationType_OBSERVATION_TYPE_SPAN,
		"agent":    commonv1.ObservationType_OBSERVATION_TYPE_AGENT,
		"tool":     commonv1.ObservationType_OBSERVATION_TYPE_TOOL,
	}
	// Langfuse's SDKs (v3+ Python, v4+ JS) name the type of every span
	// they create in langfuse.observation.type.
	langfuseTypes = map[string]commonv1.ObservationType{
		"span":       commonv1.ObservationType_OBSERVATION_TYPE_SPAN,
		"generation": commonv1.ObservationType_OBSERVATION_TYPE_GENERATION,
		"event":      commonv1.ObservationType_OBSERVATION_TYPE_EVENT,
		"agent":      commonv1.ObservationType_OBSERVATION_TYPE_AGENT,
		"tool":       commonv1.ObservationType_OBSERVATION_TYPE_TOOL,
		"chain":      commonv1.ObservationType_OBSERVATION_TYPE_CHAIN,
		"retriever":  commonv1.ObservationType_OBSERVATION_TYPE_RETRIEVER,
		"evaluator":  commonv1.ObservationType_OBSERVATION_TYPE_EVALUATOR,
		"embedding":  commonv1.ObservationType_OBSERVATION_TYPE_EMBEDDING,
		"guardrail":  commonv1.ObservationType_OBSERVATION_TYPE_GUARDRAIL,
	}
	// The Vercel AI SDK names its operations in ai.operationId (and in the
	// span name). The provider calls (do*) are the generations and
	// embeddings; the outer calls wrap the provider calls and tool calls of
	// all steps and stay SPANs, as Langfuse maps them: they repeat the
	// usage of their steps, which must not count twice.
	vercelOperations = map[string]commonv1.ObservationType{
		"ai.generateText.doGenerate":   commonv1.ObservationType_OBSERVATION_TYPE_GENERATION,
		"ai.streamText.doStream":       commonv1.ObservationType_OBSERVATION_TYPE_GENERATION,
		"ai.generateObject.doGenerate": commonv1.ObservationType_OBSERVATION_TYPE_GENERATION,
		"ai.streamObject.doStream":     commonv1.ObservationType_OBSERVATION_TYPE_GENERATION,
		"ai.embed.doEmbed":             commonv1.ObservationType_OBSERVATION_TYPE_EMBEDDING,
		"ai.embedMany.doEmbed":         commonv1.ObservationType_OBSERVATION_TYPE_EMBEDDING,
		"ai.toolCall":                  commonv1.ObservationType_OBSERVATION_TYPE_TOOL,
		"ai.generateText":              commonv1.ObservationType_OBSERVATION_TYPE_SPAN,
		"ai.streamText":                commonv1.ObservationType_OBSERVATION_TYPE_SPAN,
		"ai.generateObject":            commonv1.ObservationType_OBSERVATION_TYPE_SPAN,
		"ai.streamObject":              commonv1.ObservationType_OBSERVATION_TYPE_SPAN,
		"ai.embed":                     commonv1.ObservationType_OBSERVATION_TYPE_SPAN,
		"ai.embedMany":                 commonv1.ObservationType_OBSERVATION_TYPE_SPAN,
	}
	// OpenLLMetry marks its LLM spans with llm.request.type only.
	traceloopRequestTypes = map[string]commonv1.ObservationType{
		"chat":       commonv1.ObservationType_OBSERVATION_TYPE_GENERATION,
		"completion": commonv1.ObservationType_OBSERVATION_TYPE_GENERATION,
		"embedding":  commonv1.ObservationType_OBSERVATION_TYPE_EMBEDDING,
		"rerank":     commonv1.ObservationType_OBSERVATION_TYPE_RETRIEVER,
	}
)

// observationType decides the type of a span's observation: the explicit
// agenttrace.observation.type, then Langfuse's langfuse.observation.type,
// then each convention's kind attribute, then the Vercel AI SDK's
// operation (ai.operationId, else the span name), then what the
// attributes imply (a model means an LLM call, a tool name a tool call),
// else SPAN. Kind attributes stay in metadata: the type is a
// normalisation of them, not a copy (RERANKER and RETRIEVER both become
// RETRIEVER); langfuse.observation.type, a Langfuse control like
// agenttrace.observation.type, is consumed.
func observationType(a *attrs, spanName string) commonv1.ObservationType {
	if s, ok := a.get("agenttrace.observation.type"); ok {
		if t, ok := parseEnum(text(s), "OBSERVATION_TYPE_", commonv1.ObservationType_value); ok {
			a.use("agenttrace.observation.type")
			return commonv1.ObservationType(t)
		}
	}
	if t, ok := langfuseTypes[strings.ToLower(strings.TrimSpace(a.peekStr("langfuse.observation.type")))]; ok {
		a.use("langfuse.observation.type")
		return t
	}
	lookups := []struct {
		key   string
		table map[string]commonv1.ObservationType
		fold  func(string) string
	}{
		{"openinference.span.kind", openInferenceKinds, strings.ToUpper},
		{"gen_ai.operation.name", genAIOperations, strings.ToLower},
		{"traceloop.span.kind", traceloopKinds, strings.ToLower},
		{"llm.request.type", traceloopRequestTypes, strings.ToLower},
	}
	for _, l := range lookups {
		if t, ok := l.table[l.fold(strings.TrimSpace(a.peekStr(l.key)))]; ok {
			return t
		}
	}
	if t, ok := vercelOperation(a, spanName); ok {
		return t
	}
	switch {
	case a.has("gen_ai.request.model"), a.has("gen_ai.response.model"), a.has("llm.model_name"),
		a.has("gen_ai.usage.input_tokens"), a.has("gen_ai.usage.output_tokens"):
		return commonv1.ObservationType_OBSERVATION_TYPE_GENERATION
	case a.has("gen_ai.tool.name"), a.has("tool.name"):
		return commonv1.ObservationType_OBSERVATION_TYPE_TOOL
	case a.has("gen_ai.agent.name"):
		return commonv1.ObservationType_OBSERVATION_TYPE_AGENT
	}
	return commonv1.ObservationType_OBSERVATION_TYPE_SPAN
}

// vercelOperation types a span of the Vercel AI SDK by its operation id;
// spans from versions without ai.operationId are known by their name.
func vercelOperation(a *attrs, spanName string) (commonv1.ObservationType, bool) {
	if op := a.peekStr("ai.operationId"); op != "" {
		t, ok := vercelOperations[op]
		return t, ok
	}
	if !strings.HasPrefix(spanName, "ai.") {
		return 0, false
	}
	t, ok := vercelOperations[spanName]
	return t, ok
}

// parseEnum reads an enum name case-insensitively, with or without its
// prefix; the zero value is refused.
func parseEnum(s, prefix string, values map[string]int32) (int32, bool) {
	name := strings.ToUpper(strings.TrimSpace(s))
	if !strings.HasPrefix(name, prefix) {
		name = prefix + name
	}
	v, ok := values[name]
	return v, ok && v != 0
}

// level decides an observation's level and status message. The explicit
// agenttrace.level wins, then Langfuse's langfuse.observation.level. Otherwise an ERROR status, or an exception the
// span did not declare handled (status UNSET), is an ERROR; an exception
// on a span whose status the application set to OK was handled and is a
// WARNING; anything else is DEFAULT. The message is the status message,
// else agenttrace.status_message, else langfuse.observation.status_message,
// else "type: message" of the first exception.
func level(a *attrs, s *tracev1.Span, exc *exceptionInfo) (commonv1.ObservationLevel, string) {
	lvl := commonv1.ObservationLevel_OBSERVATION_LEVEL_DEFAULT
	switch code := s.GetStatus().GetCode(); {
	case code == tracev1.Status_STATUS_CODE_ERROR:
		lvl = commonv1.ObservationLevel_OBSERVATION_LEVEL_ERROR
	case exc != nil && code == tracev1.Status_STATUS_CODE_OK:
		lvl = commonv1.ObservationLevel_OBSERVATION_LEVEL_WARNING
	case exc != nil:
		lvl = commonv1.ObservationLevel_OBSERVATION_LEVEL_ERROR
	}
	for _, key := range []string{"agenttrace.level", "langfuse.observation.level"} {
		v, ok := a.get(key)
		if !ok {
			continue
		}
		if l, ok := parseEnum(text(v), "OBSERVATION_LEVEL_", commonv1.ObservationLevel_value); ok {
			a.use(key)
			lvl = commonv1.ObservationLevel(l)
			break
		}
	}
	msg := s.GetStatus().GetMessage()
	if msg == "" {
		msg, _ = a.str("agenttrace.status_message", "langfuse.observation.status_message")
	}
	if msg == "" && exc != nil {
		msg = exc.summary()
	}
	return lvl, clipText(msg)
}
