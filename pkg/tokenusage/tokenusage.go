// Package tokenusage owns the meaning of a usage record's counts, so that
// every front door (native API, OTLP conventions, Langfuse's ingestion and
// OTel routes) stores the same numbers and the worker prices them one way.
//
// The native convention is OpenAI's and the OTel GenAI semantic
// conventions': usage.input counts every input token, the cached ones
// included; usage.output every output token, the reasoning ones included;
// usage.details are breakdowns that are PARTS of input or output
// ("cached_input", "reasoning_output"), or units of their own
// ("web_search", "image") that belong to neither. A total not sent is
// input + output (derived at read time, so details never add to it).
//
// Langfuse's convention is exclusive: every key of its usage_details is a
// separate unit, "input" leaves out the cached tokens that
// "input_cached_tokens" (or Anthropic's "cache_read_input_tokens") counts,
// and its total is the sum of all keys. FromExclusive converts:
//
//	Langfuse {"input":100, "input_cached_tokens":400, "output":50}
//	native   {"input":500, "output":50, "cached_input":400}   (total 550 = input + output)
//
// and the worker then charges 100 tokens at the input price and 400 at the
// "cached_input" price (or all 500 at the input price when the model has
// no cached price).
package tokenusage

import (
	"math"
	"strings"
)

// The count names; every other key of a usage map is a detail.
const (
	Input  = "input"
	Output = "output"
	Total  = "total"
)

// Side is the count a detail is part of.
type Side uint8

const (
	// Own is a unit of its own ("web_search", "image"): part of neither
	// count, priced only by a price of its own name.
	Own Side = iota
	InputSide
	OutputSide
)

// SideOf says which count a detail is part of: one named "<kind>_input" or
// "input_<kind>" ("cached_input", "cache_creation_input", "input_audio") is
// part of the input count, one named "<kind>_output" or "output_<kind>"
// ("reasoning_output", "output_image") part of the output count, either
// also with a trailing "_tokens" ("cache_read_input_tokens",
// "input_cached_tokens", "output_reasoning_tokens"). The count names
// themselves are not details.
func SideOf(detail string) Side {
	if detail == Input || detail == Output || detail == Total {
		return Own
	}
	base := strings.TrimSuffix(detail, "_tokens")
	switch {
	case strings.HasPrefix(detail, Input+"_"), strings.HasSuffix(base, "_"+Input):
		return InputSide
	case strings.HasPrefix(detail, Output+"_"), strings.HasSuffix(base, "_"+Output):
		return OutputSide
	}
	return Own
}

// nativeNames maps the detail names other conventions use for the native
// details to those: Langfuse's OpenAI and LangChain integrations
// ("input_cached_tokens", "input_cache_read", "output_reasoning_tokens"),
// Anthropic's usage ("cache_read_input_tokens",
// "cache_creation_input_tokens") and OpenAI usage objects' *_details read
// with an "input_"/"output_" prefix. The native names are the ones the
// price table uses, so a model's cached price applies to them.
var nativeNames = map[string]string{
	"input_cached_tokens":         "cached_input",
	"input_cached":                "cached_input",
	"input_cache_read":            "cached_input",
	"input_cache_read_tokens":     "cached_input",
	"cache_read_input_tokens":     "cached_input",
	"cache_read_input":            "cached_input",
	"input_cache_creation":        "cache_creation_input",
	"input_cache_creation_tokens": "cache_creation_input",
	"cache_creation_input_tokens": "cache_creation_input",
	"output_reasoning_tokens":     "reasoning_output",
	"output_reasoning":            "reasoning_output",
	"input_audio_tokens":          "audio_input",
	"input_audio":                 "audio_input",
	"output_audio_tokens":         "audio_output",
	"output_audio":                "audio_output",
}

// NativeName is the native name of a well-known detail, else the name as
// sent.
func NativeName(detail string) string {
	if n, ok := nativeNames[detail]; ok {
		return n
	}
	return detail
}

// FromExclusive converts a usage map in Langfuse's exclusive convention
// ("input", "output", "total" and details, each a separate unit) to the
// native one: details get their native names (counts of names that meet
// are added), input grows by the input-side details, output by the
// output-side ones (an input-side detail alone makes an input count), a
// total that was sent is kept as sent, and no total is made up (the
// native default, input + output, then equals Langfuse's sum of all keys
// unless there are details of their own). Sums saturate at the largest
// int64 rather than wrap. counts is not changed.
func FromExclusive(counts map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(counts))
	for k, n := range counts {
		if k == Input || k == Output || k == Total {
			out[k] = n
		}
	}
	for k, n := range counts {
		if k == Input || k == Output || k == Total {
			continue
		}
		name := NativeName(k)
		out[name] = add(out[name], n)
		switch SideOf(name) {
		case InputSide:
			out[Input] = add(out[Input], n)
		case OutputSide:
			out[Output] = add(out[Output], n)
		}
	}
	return out
}

// add is a + b for non-negative counts, saturating at math.MaxInt64.
func add(a, b int64) int64 {
	if b > math.MaxInt64-a {
		return math.MaxInt64
	}
	return a + b
}
