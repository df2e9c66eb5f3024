package otlpmap

import (
	"math"
	"strings"

	"google.golang.org/protobuf/proto"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	"github.com/agenttrace/agenttrace/pkg/tokenusage"
)

// model is the model name: an explicit one (agenttrace.model, Langfuse's
// langfuse.observation.model.name), else the one that answered before the
// one asked for, since providers resolve aliases ("gpt-4o" ->
// "gpt-4o-2024-08-06") and prices follow the resolved name. The Vercel AI
// SDK's ai.response.model / ai.model.id rank after the GenAI names it sets
// beside them (with the same values).
func model(a *attrs) string {
	m, _ := a.str("agenttrace.model", "langfuse.observation.model.name",
		"gen_ai.response.model", "ai.response.model", "gen_ai.request.model", "ai.model.id",
		"llm.model_name", "embedding.model_name")
	return clip(m, maxNameBytes)
}

// modelParameters collects the request parameters: gen_ai.request.*
// (without the prefix; the model itself is not a parameter), the keys of
// OpenInference's llm.invocation_parameters JSON, the Vercel AI SDK's
// ai.settings.*, the keys of Langfuse's langfuse.observation.model.parameters
// JSON and agenttrace.model_parameters.*. Later sources win a key.
func modelParameters(a *attrs) map[string]string {
	// Most spans have no parameters: the map is made on the first.
	var out map[string]string
	set := func(k, v string) {
		if out == nil {
			out = map[string]string{}
		}
		out[k] = v
	}
	for _, k := range a.withPrefix("gen_ai.request.") {
		if k == "gen_ai.request.model" {
			continue
		}
		v, _ := a.get(k)
		a.use(k)
		set(clip(strings.TrimPrefix(k, "gen_ai.request."), maxNameBytes), clipText(text(v)))
	}
	if v, ok := a.get("llm.invocation_parameters"); ok {
		if obj, ok := structured(v).(map[string]any); ok {
			a.use("llm.invocation_parameters")
			for k, pv := range obj {
				set(clip(k, maxNameBytes), clipText(plainText(pv)))
			}
		}
	}
	for _, k := range a.withPrefix("ai.settings.") {
		v, _ := a.get(k)
		a.use(k)
		set(clip(strings.TrimPrefix(k, "ai.settings."), maxNameBytes), clipText(text(v)))
	}
	if obj, ok := jsonObject(a, langfuseModelParameters); ok {
		a.use(langfuseModelParameters)
		for k, pv := range obj {
			set(clip(k, maxNameBytes), clipText(plainText(pv)))
		}
	}
	for _, k := range a.withPrefix("agenttrace.model_parameters.") {
		v, _ := a.get(k)
		a.use(k)
		set(clip(strings.TrimPrefix(k, "agenttrace.model_parameters."), maxNameBytes), clipText(text(v)))
	}
	return out
}

// plainText renders a decoded JSON value as a map value: strings as
// themselves, everything else as JSON.
func plainText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return jsonText(v)
}

// usageDetails name the detail counts and the attributes that carry them,
// newest convention first.
var usageDetails = []struct {
	name string
	keys []string
}{
	{"cached_input", []string{
		"gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens",
		"gen_ai.usage.input_tokens.cached", "llm.token_count.prompt_details.cache_read",
		"ai.usage.cachedInputTokens",
	}},
	{"cache_creation_input", []string{
		"gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.cache_creation_input_tokens",
		"gen_ai.usage.input_tokens.cache_write", "llm.token_count.prompt_details.cache_write",
	}},
	{"reasoning_output", []string{
		"gen_ai.usage.reasoning.output_tokens", "gen_ai.usage.output_tokens.reasoning",
		"gen_ai.usage.reasoning_tokens", "llm.token_count.completion_details.reasoning",
		"ai.usage.reasoningTokens",
	}},
	{"audio_input", []string{"llm.token_count.prompt_details.audio"}},
	{"audio_output", []string{"llm.token_count.completion_details.audio"}},
}

// inputCountKeys name the input count, the last (ai.usage.tokens) for
// embeddings only.
var inputCountKeys = []string{"gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens",
	"llm.token_count.prompt", "llm.usage.prompt_tokens", "ai.usage.inputTokens", "ai.usage.promptTokens", "ai.usage.tokens"}

// usage reads token counts: the explicit agenttrace.usage.*, then
// Langfuse's usage_details JSON, then input and output from the GenAI
// names, their older prompt/completion names, OpenInference's
// llm.token_count.*, OpenLLMetry's llm.usage.* and the Vercel AI SDK's
// ai.usage.* (v5 inputTokens, v4 promptTokens; an embedding's
// ai.usage.tokens counts its input); total as sent, else input+output.
// The open conventions already count the native way (GenAI's input_tokens
// includes cached tokens) and are kept as reported; Langfuse's
// usage_details counts every key separately, so it is converted
// (tokenusage.FromExclusive: its input-side details are added to input,
// its well-known detail names become the native ones).
func usage(a *attrs, t commonv1.ObservationType) *commonv1.Usage {
	// u is built on the stack and copied out only when something was
	// found: most spans report no usage.
	var u struct {
		Input, Output, Total *int64
		Details              map[string]int64
	}
	lf, complete := map[string]int64(nil), false
	if obj, ok := jsonObject(a, langfuseUsageDetails); ok {
		lf, complete = detailCounts(obj)
		if complete {
			a.use(langfuseUsageDetails)
		}
		lf = tokenusage.FromExclusive(lf)
	}
	// pick takes the explicit count, else Langfuse's, else the first
	// convention's. (proto.Int64 rather than &n: taking the address of n
	// would move every n to the heap, found or not.)
	pick := func(explicit, lfKey string, keys ...string) *int64 {
		if n, ok := a.count(explicit); ok {
			return proto.Int64(n)
		}
		if n, ok := lf[lfKey]; ok {
			return proto.Int64(n)
		}
		if n, ok := a.count(keys...); ok {
			return proto.Int64(n)
		}
		return nil
	}
	inputKeys := inputCountKeys[:len(inputCountKeys)-1]
	if t == commonv1.ObservationType_OBSERVATION_TYPE_EMBEDDING {
		inputKeys = inputCountKeys
	}
	u.Input = pick("agenttrace.usage.input", "input", inputKeys...)
	u.Output = pick("agenttrace.usage.output", "output", "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens",
		"llm.token_count.completion", "llm.usage.completion_tokens", "ai.usage.outputTokens", "ai.usage.completionTokens")
	u.Total = pick("agenttrace.usage.total", "total", "gen_ai.usage.total_tokens", "llm.token_count.total",
		"llm.usage.total_tokens", "ai.usage.totalTokens")
	for k, n := range lf {
		if k == "input" || k == "output" || k == "total" {
			continue
		}
		if u.Details == nil {
			u.Details = map[string]int64{}
		}
		u.Details[k] = n
	}
	for _, d := range usageDetails {
		if _, have := u.Details[d.name]; have {
			continue
		}
		if n, ok := a.count(d.keys...); ok {
			if u.Details == nil {
				u.Details = map[string]int64{}
			}
			u.Details[d.name] = n
		}
	}
	if u.Total == nil && (u.Input != nil || u.Output != nil) {
		var t int64
		for _, n := range []*int64{u.Input, u.Output} {
			if n != nil {
				t += *n
			}
		}
		if t >= 0 { // no overflow
			u.Total = proto.Int64(t)
		}
	}
	if u.Input == nil && u.Output == nil && u.Total == nil && u.Details == nil {
		return nil
	}
	return &commonv1.Usage{Input: u.Input, Output: u.Output, Total: u.Total, Details: u.Details}
}

// cost reads a cost the client computed (USD): agenttrace.cost.*, then
// Langfuse's cost_details JSON ({"input":..,"output":..,"total":..}), then
// OpenInference's llm.cost.* and gen_ai.usage.cost. A total missing beside
// its parts is their sum. Costs from prices are the worker's business, not
// this package's.
func cost(a *attrs) *commonv1.Cost {
	var lf map[string]float64
	if obj, ok := jsonObject(a, langfuseCostDetails); ok {
		lf = make(map[string]float64, len(obj))
		complete := true
		for k, v := range obj {
			f, ok := jsonAmount(v)
			if !ok || (k != "input" && k != "output" && k != "total") {
				complete = false // kept whole in metadata
				continue
			}
			lf[k] = f
		}
		if complete {
			a.use(langfuseCostDetails)
		}
	}
	pick := func(explicit, lfKey string, keys ...string) *float64 {
		if f, ok := a.amount(explicit); ok {
			return proto.Float64(f)
		}
		if f, ok := lf[lfKey]; ok {
			return proto.Float64(f)
		}
		if f, ok := a.amount(keys...); ok {
			return proto.Float64(f)
		}
		return nil
	}
	input := pick("agenttrace.cost.input", "input", "llm.cost.prompt")
	output := pick("agenttrace.cost.output", "output", "llm.cost.completion")
	total := pick("agenttrace.cost.total", "total", "llm.cost.total", "gen_ai.usage.cost")
	if input == nil && output == nil && total == nil {
		return nil
	}
	c := &commonv1.Cost{Input: input, Output: output, Total: total}
	if t := c.GetInput() + c.GetOutput(); c.Total == nil && !math.IsInf(t, 0) {
		c.Total = proto.Float64(t)
	}
	return c
}
