package otlpmap

import (
	"slices"
	"strconv"
	"strings"

	commonv1 "go.opentelemetry.io/proto/otlp/common/v1"
	tracev1 "go.opentelemetry.io/proto/otlp/trace/v1"
)

// content finds a span's input and output. Each side takes the first
// source present, in the order of inputSources/outputSources: explicit
// agenttrace attributes, Langfuse's, the current GenAI message
// attributes, the flattened message attributes of OpenInference and
// OpenLLMetry, the generic OpenInference values, OpenLLMetry's entity
// values, GenAI tool arguments/results, the Vercel AI SDK's ai.* values,
// and last the GenAI span events of older instrumentations. Sources not chosen stay in metadata (or remain EVENT
// observations), so nothing is lost when several are present.
type content struct {
	a      *attrs
	events []*tracev1.Span_Event
	// used marks the events whose content became the input or output;
	// nil until one does.
	used map[int]bool
}

func (c *content) markUsed(i int) {
	if c.used == nil {
		c.used = map[int]bool{}
	}
	c.used[i] = true
}

type source func(c *content) (any, bool)

var inputSources = []source{
	attrSource("agenttrace.observation.input"),
	attrSource("langfuse.observation.input"),
	genAIMessages("gen_ai.input.messages", true),
	flatList("llm.input_messages.", "message"),
	flatList("gen_ai.prompt.", ""),
	flatList("embedding.embeddings.", "embedding"),
	valueWithMime("input.value", "input.mime_type"),
	jsonSource("traceloop.entity.input"),
	attrSource("gen_ai.tool.call.arguments"),
	jsonSource("ai.prompt.messages"),
	jsonSource("ai.prompt"),
	jsonSource("ai.toolCall.args"),
	jsonSource("ai.value"),
	jsonListSource("ai.values"),
	eventMessages(true),
}

var outputSources = []source{
	attrSource("agenttrace.observation.output"),
	attrSource("langfuse.observation.output"),
	genAIMessages("gen_ai.output.messages", false),
	flatList("llm.output_messages.", "message"),
	flatList("gen_ai.completion.", ""),
	flatList("retrieval.documents.", "document"),
	valueWithMime("output.value", "output.mime_type"),
	jsonSource("traceloop.entity.output"),
	attrSource("gen_ai.tool.call.result"),
	vercelResponse,
	jsonSource("ai.toolCall.result"),
	jsonSource("ai.embedding"),
	jsonListSource("ai.embeddings"),
	eventMessages(false),
}

func (c *content) first(sources []source) any {
	for _, s := range sources {
		if v, ok := s(c); ok {
			return v
		}
	}
	return nil
}

// attrSource takes one attribute as it is, decoding JSON objects and
// arrays sent as strings.
func attrSource(key string) source {
	return func(c *content) (any, bool) {
		v, ok := c.a.get(key)
		if !ok {
			return nil, false
		}
		c.a.use(key)
		return structured(v), true
	}
}

// genAIMessages reads gen_ai.input.messages / gen_ai.output.messages (JSON
// text or structured values). The system instructions, which the current
// GenAI conventions keep apart, become a leading system message so the
// input reads as one conversation.
func genAIMessages(key string, withSystem bool) source {
	return func(c *content) (any, bool) {
		return messagesFrom(c.a, key, withSystem)
	}
}

func messagesFrom(a *attrs, key string, withSystem bool) (any, bool) {
	msgs, haveMsgs := a.get(key)
	var sys any
	haveSys := false
	if withSystem {
		if v, ok := a.get("gen_ai.system_instructions"); ok {
			sys, haveSys = structured(v), true
		}
	}
	if !haveMsgs && !haveSys {
		return nil, false
	}
	var out any
	if haveMsgs {
		a.use(key)
		out = structured(msgs)
	}
	if haveSys {
		a.use("gen_ai.system_instructions")
		system := map[string]any{"role": "system"}
		if _, isParts := sys.([]any); isParts {
			system["parts"] = sys
		} else {
			system["content"] = sys
		}
		switch list := out.(type) {
		case nil:
			out = []any{system}
		case []any:
			out = append([]any{system}, list...)
		default:
			out = map[string]any{"system_instructions": sys, "messages": list}
		}
	}
	return out, true
}

// flatList rebuilds a list flattened into attributes such as
// llm.input_messages.0.message.role or gen_ai.prompt.0.content.
// OpenInference wraps each item in an object with a single key (message,
// document, embedding); the wrapper is removed.
func flatList(prefix, wrapper string) source {
	return func(c *content) (any, bool) {
		items, keys := flattened(c.a, prefix)
		if len(items) == 0 {
			return nil, false
		}
		for i, it := range items {
			if m, ok := it.(map[string]any); ok && len(m) == 1 && wrapper != "" {
				if inner, ok := m[wrapper]; ok {
					items[i] = inner
				}
			}
		}
		c.a.use(keys...)
		return items, true
	}
}

// jsonSource takes an attribute that its convention always JSON-encodes
// (OpenLLMetry's entity input and output, even a plain string), decoded;
// text that is not JSON is kept as it is.
func jsonSource(key string) source {
	return func(c *content) (any, bool) {
		v, ok := c.a.get(key)
		if !ok {
			return nil, false
		}
		c.a.use(key)
		if s, isStr := v.GetValue().(*commonv1.AnyValue_StringValue); isStr {
			if parsed, ok := parseJSON(s.StringValue); ok {
				return parsed, true
			}
		}
		return native(v, 0), true
	}
}

// flattened rebuilds the array flattened under prefix: keys
// prefix+"N."+path become element N, path segments nested objects and
// numeric segments arrays. It returns the elements in index order and the
// keys it used; keys that do not fit the shape are left alone.
func flattened(a *attrs, prefix string) ([]any, []string) {
	items := map[int]map[string]any{}
	var used []string
	for _, k := range a.withPrefix(prefix) {
		idxText, path, _ := strings.Cut(k[len(prefix):], ".")
		idx, err := strconv.Atoi(idxText)
		if err != nil || idx < 0 || idx > maxFlatIndex || path == "" {
			continue
		}
		segs := strings.Split(path, ".")
		if len(segs) > maxDepth {
			continue
		}
		item, ok := items[idx]
		if !ok {
			item = map[string]any{}
		}
		v, _ := a.get(k)
		if !setPath(item, segs, native(v, len(segs)+1)) {
			continue
		}
		items[idx] = item
		used = append(used, k)
	}
	if len(items) == 0 {
		return nil, nil
	}
	order := make([]int, 0, len(items))
	for i := range items {
		order = append(order, i)
	}
	slices.Sort(order)
	out := make([]any, 0, len(order))
	for _, i := range order {
		out = append(out, arrayify(items[i]))
	}
	return out, used
}

// setPath stores v at segs inside m; it refuses a path that runs through
// or onto a value already there (the keys are visited in sorted order, so
// the outcome is deterministic).
func setPath(m map[string]any, segs []string, v any) bool {
	for _, s := range segs[:len(segs)-1] {
		next, ok := m[s]
		if !ok {
			child := map[string]any{}
			m[s] = child
			m = child
			continue
		}
		child, isMap := next.(map[string]any)
		if !isMap {
			return false
		}
		m = child
	}
	last := segs[len(segs)-1]
	if _, taken := m[last]; taken {
		return false
	}
	m[last] = v
	return true
}

// arrayify turns objects whose keys are all indexes into arrays, in index
// order, recursively.
func arrayify(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	idx := make([]int, 0, len(m))
	for k, e := range m {
		m[k] = arrayify(e)
		if n, err := strconv.Atoi(k); err == nil && n >= 0 && strconv.Itoa(n) == k {
			idx = append(idx, n)
		}
	}
	if len(idx) != len(m) || len(m) == 0 {
		return m
	}
	slices.Sort(idx)
	out := make([]any, 0, len(idx))
	for _, n := range idx {
		out = append(out, m[strconv.Itoa(n)])
	}
	return out
}

// valueWithMime reads OpenInference's input.value / output.value, decoded
// as JSON when its mime type says so and kept as text otherwise.
func valueWithMime(key, mimeKey string) source {
	return func(c *content) (any, bool) {
		v, ok := c.a.get(key)
		if !ok {
			return nil, false
		}
		c.a.use(key)
		mime := strings.ToLower(c.a.peekStr(mimeKey))
		if mime != "" {
			c.a.use(mimeKey)
		}
		if s := text(v); strings.Contains(mime, "json") {
			if parsed, ok := parseJSON(s); ok {
				return parsed, true
			}
		}
		return native(v, 0), true
	}
}

// Span events of the GenAI conventions that carry content.
const (
	eventOperationDetails = "gen_ai.client.inference.operation.details"
	eventContentPrompt    = "gen_ai.content.prompt"
	eventContentReply     = "gen_ai.content.completion"
	eventChoice           = "gen_ai.choice"
)

// messageEventRoles maps the older GenAI message events to their roles.
var messageEventRoles = map[string]string{
	"gen_ai.system.message":    "system",
	"gen_ai.user.message":      "user",
	"gen_ai.assistant.message": "assistant",
	"gen_ai.tool.message":      "tool",
}

// eventMessages reads content from span events, for instrumentations that
// record it there: the operation-details event (the current conventions'
// alternative to attributes), gen_ai.content.prompt/completion with a JSON
// gen_ai.prompt/gen_ai.completion attribute, and the older per-message
// events (gen_ai.user.message, ..., gen_ai.choice), each becoming one
// message of a list.
func eventMessages(input bool) source {
	return func(c *content) (any, bool) {
		for i, ev := range c.events {
			if ev.GetName() != eventOperationDetails {
				continue
			}
			key, withSystem := "gen_ai.output.messages", false
			if input {
				key, withSystem = "gen_ai.input.messages", true
			}
			if v, ok := messagesFrom(newAttrs(ev.GetAttributes()), key, withSystem); ok {
				c.markUsed(i)
				return v, true
			}
		}
		name, attr := eventContentReply, "gen_ai.completion"
		if input {
			name, attr = eventContentPrompt, "gen_ai.prompt"
		}
		for i, ev := range c.events {
			if ev.GetName() != name {
				continue
			}
			if v, ok := newAttrs(ev.GetAttributes()).get(attr); ok {
				c.markUsed(i)
				return structured(v), true
			}
		}
		var msgs []any
		for i, ev := range c.events {
			msg := map[string]any{}
			if input {
				role, ok := messageEventRoles[ev.GetName()]
				if !ok {
					continue
				}
				msg["role"] = role
			} else if ev.GetName() != eventChoice {
				continue
			}
			for _, kv := range ev.GetAttributes() {
				msg[kv.GetKey()] = native(kv.GetValue(), 1)
			}
			msgs = append(msgs, msg)
			c.markUsed(i)
		}
		return msgs, len(msgs) > 0
	}
}

// jsonListSource reads an array whose elements its convention JSON-encodes
// one by one (the Vercel AI SDK's ai.values and ai.embeddings); each
// element is decoded, elements that are not JSON kept as they are.
func jsonListSource(key string) source {
	return func(c *content) (any, bool) {
		v, ok := c.a.get(key)
		if !ok {
			return nil, false
		}
		c.a.use(key)
		list, isList := native(v, 0).([]any)
		if !isList {
			return structured(v), true
		}
		for i, e := range list {
			if s, isStr := e.(string); isStr {
				if parsed, ok := parseJSON(s); ok {
					list[i] = parsed
				}
			}
		}
		return list, true
	}
}

// vercelResponse is the output of a Vercel AI SDK call. A response with
// tool calls becomes one assistant message, {"role":"assistant",
// "content":<ai.response.text, when set>,"tool_calls":<ai.response.toolCalls
// as the SDK sent them>}, as Langfuse shows it; otherwise the text as it
// is, else the generated object (ai.response.object, JSON).
func vercelResponse(c *content) (any, bool) {
	text, haveText := c.a.get("ai.response.text")
	if calls, ok := c.a.get("ai.response.toolCalls"); ok {
		c.a.use("ai.response.toolCalls")
		msg := map[string]any{"role": "assistant", "tool_calls": structured(calls)}
		if haveText {
			c.a.use("ai.response.text")
			msg["content"] = native(text, 0)
		}
		return msg, true
	}
	if haveText {
		c.a.use("ai.response.text")
		return native(text, 0), true
	}
	return jsonSource("ai.response.object")(c)
}
