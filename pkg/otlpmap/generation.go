package otlpmap

import (
	"math"
	"strings"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
)

// model is the model name: the one that answered before the one asked for,
// since providers resolve aliases ("gpt-4o" -> "gpt-4o-2024-08-06") and
// prices follow the resolved name.
func model(a *attrs) string {
	m, _ := a.str("agenttrace.model", "gen_ai.response.model", "gen_ai.request.model",
		"llm.model_name", "embedding.model_name")
	return clip(m, maxNameBytes)
}

// modelParameters collects the request parameters: gen_ai.request.*
// (without the prefix; the model itself is not a parameter), the keys of
// OpenInference's llm.invocation_parameters JSON and agenttrace.model_parameters.*.
// Later sources win a key.
func modelParameters(a *attrs) map[string]string {
	out := map[string]string{}
	for _, k := range a.withPrefix("gen_ai.request.") {
		if k == "gen_ai.request.model" {
			continue
		}
		v, _ := a.get(k)
		a.use(k)
		out[clip(strings.TrimPrefix(k, "gen_ai.request."), maxNameBytes)] = clipText(text(v))
	}
	if v, ok := a.get("llm.invocation_parameters"); ok {
		if obj, ok := structured(v).(map[string]any); ok {
			a.use("llm.invocation_parameters")
			for k, pv := range obj {
				out[clip(k, maxNameBytes)] = clipText(plainText(pv))
			}
		}
	}
	for _, k := range a.withPrefix("agenttrace.model_parameters.") {
		v, _ := a.get(k)
		a.use(k)
		out[clip(strings.TrimPrefix(k, "agenttrace.model_parameters."), maxNameBytes)] = clipText(text(v))
	}
	if len(out) == 0 {
		return nil
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
	}},
	{"cache_creation_input", []string{
		"gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.cache_creation_input_tokens",
		"gen_ai.usage.input_tokens.cache_write", "llm.token_count.prompt_details.cache_write",
	}},
	{"reasoning_output", []string{
		"gen_ai.usage.reasoning.output_tokens", "gen_ai.usage.output_tokens.reasoning",
		"gen_ai.usage.reasoning_tokens", "llm.token_count.completion_details.reasoning",
	}},
	{"audio_input", []string{"llm.token_count.prompt_details.audio"}},
	{"audio_output", []string{"llm.token_count.completion_details.audio"}},
}

// usage reads token counts: input and output from the GenAI names, their
// older prompt/completion names, OpenInference's llm.token_count.* and
// OpenLLMetry's llm.usage.*; total as sent, else input+output. Counts are
// kept as the convention reports them (GenAI's input_tokens includes
// cached tokens); details are named like the native API's.
func usage(a *attrs) *commonv1.Usage {
	var u commonv1.Usage
	if n, ok := a.count("agenttrace.usage.input", "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens",
		"llm.token_count.prompt", "llm.usage.prompt_tokens"); ok {
		u.Input = &n
	}
	if n, ok := a.count("agenttrace.usage.output", "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens",
		"llm.token_count.completion", "llm.usage.completion_tokens"); ok {
		u.Output = &n
	}
	if n, ok := a.count("agenttrace.usage.total", "gen_ai.usage.total_tokens", "llm.token_count.total",
		"llm.usage.total_tokens"); ok {
		u.Total = &n
	}
	for _, d := range usageDetails {
		if n, ok := a.count(d.keys...); ok {
			if u.Details == nil {
				u.Details = map[string]int64{}
			}
			u.Details[d.name] = n
		}
	}
	if u.Total == nil && (u.Input != nil || u.Output != nil) {
		t := u.GetInput() + u.GetOutput()
		if t >= 0 { // no overflow
			u.Total = &t
		}
	}
	if u.Input == nil && u.Output == nil && u.Total == nil && u.Details == nil {
		return nil
	}
	return &u
}

// cost reads a cost the client computed (USD): OpenInference's llm.cost.*,
// gen_ai.usage.cost and agenttrace.cost.*. A total missing beside its parts
// is their sum. Costs from prices are the worker's business, not this
// package's.
func cost(a *attrs) *commonv1.Cost {
	var c commonv1.Cost
	if f, ok := a.amount("agenttrace.cost.input", "llm.cost.prompt"); ok {
		c.Input = &f
	}
	if f, ok := a.amount("agenttrace.cost.output", "llm.cost.completion"); ok {
		c.Output = &f
	}
	if f, ok := a.amount("agenttrace.cost.total", "llm.cost.total", "gen_ai.usage.cost"); ok {
		c.Total = &f
	}
	if c.Input == nil && c.Output == nil && c.Total == nil {
		return nil
	}
	if t := c.GetInput() + c.GetOutput(); c.Total == nil && !math.IsInf(t, 0) {
		c.Total = &t
	}
	return &c
}
