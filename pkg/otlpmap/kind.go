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
	// OpenLLMetry marks its LLM spans with llm.request.type only.
	traceloopRequestTypes = map[string]commonv1.ObservationType{
		"chat":       commonv1.ObservationType_OBSERVATION_TYPE_GENERATION,
		"completion": commonv1.ObservationType_OBSERVATION_TYPE_GENERATION,
		"embedding":  commonv1.ObservationType_OBSERVATION_TYPE_EMBEDDING,
		"rerank":     commonv1.ObservationType_OBSERVATION_TYPE_RETRIEVER,
	}
)

// observationType decides the type of a span's observation: the explicit
// agenttrace.observation.type, then each convention's kind attribute, then
// what the attributes imply (a model means an LLM call, a tool name a tool
// call), else SPAN. Kind attributes stay in metadata: the type is a
// normalisation of them, not a copy (RERANKER and RETRIEVER both become
// RETRIEVER).
func observationType(a *attrs) commonv1.ObservationType {
	if s, ok := a.get("agenttrace.observation.type"); ok {
		if t, ok := parseEnum(text(s), "OBSERVATION_TYPE_", commonv1.ObservationType_value); ok {
			a.use("agenttrace.observation.type")
			return commonv1.ObservationType(t)
		}
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
// agenttrace.level wins. Otherwise an ERROR status, or an exception the
// span did not declare handled (status UNSET), is an ERROR; an exception
// on a span whose status the application set to OK was handled and is a
// WARNING; anything else is DEFAULT. The message is the status message,
// else agenttrace.status_message, else "type: message" of the first
// exception.
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
	if v, ok := a.get("agenttrace.level"); ok {
		if l, ok := parseEnum(text(v), "OBSERVATION_LEVEL_", commonv1.ObservationLevel_value); ok {
			a.use("agenttrace.level")
			lvl = commonv1.ObservationLevel(l)
		}
	}
	msg := s.GetStatus().GetMessage()
	if msg == "" {
		msg, _ = a.str("agenttrace.status_message")
	}
	if msg == "" && exc != nil {
		msg = exc.summary()
	}
	return lvl, clipText(msg)
}
