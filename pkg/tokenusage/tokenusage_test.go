package tokenusage

import (
	"maps"
	"math"
	"testing"
)

func TestSideOf(t *testing.T) {
	for k, want := range map[string]Side{
		"cached_input": InputSide, "cache_creation_input": InputSide, "audio_input": InputSide, "input_image": InputSide,
		"reasoning_output": OutputSide, "audio_output": OutputSide, "output_image": OutputSide,
		"web_search": Own, "image": Own, "inputs": Own, "xinput": Own,
		// Langfuse's and Anthropic's names, with a trailing _tokens.
		"cache_read_input_tokens": InputSide, "cache_creation_input_tokens": InputSide,
		"input_cached_tokens": InputSide, "input_cache_read": InputSide,
		"output_reasoning_tokens": OutputSide, "reasoning_output_tokens": OutputSide,
		"web_search_tokens": Own, "_tokens": Own, "xinput_tokens": Own,
		// The counts are not details.
		"input": Own, "output": Own, "total": Own,
	} {
		if got := SideOf(k); got != want {
			t.Errorf("SideOf(%q) = %d, want %d", k, got, want)
		}
	}
}

func TestNativeName(t *testing.T) {
	for k, want := range map[string]string{
		"input_cached_tokens": "cached_input", "cache_read_input_tokens": "cached_input", "input_cache_read": "cached_input",
		"cache_creation_input_tokens": "cache_creation_input", "input_cache_creation": "cache_creation_input",
		"output_reasoning_tokens": "reasoning_output", "output_reasoning": "reasoning_output",
		"input_audio_tokens": "audio_input", "output_audio_tokens": "audio_output",
		"cached_input": "cached_input", "web_search": "web_search", "output_accepted_prediction_tokens": "output_accepted_prediction_tokens",
	} {
		if got := NativeName(k); got != want {
			t.Errorf("NativeName(%q) = %q, want %q", k, got, want)
		}
	}
}

func TestFromExclusive(t *testing.T) {
	tests := []struct {
		name     string
		lf, want map[string]int64
	}{
		{"the documented example",
			map[string]int64{"input": 100, "input_cached_tokens": 400, "output": 50},
			map[string]int64{"input": 500, "output": 50, "cached_input": 400}},
		{"a sent total is kept",
			map[string]int64{"input": 400, "input_cached_tokens": 800, "output": 300, "total": 1500},
			map[string]int64{"input": 1200, "output": 300, "total": 1500, "cached_input": 800}},
		{"anthropic's cache reads and writes, reasoning",
			map[string]int64{"input": 10, "cache_read_input_tokens": 6000, "cache_creation_input_tokens": 3000, "output": 100, "output_reasoning_tokens": 60},
			map[string]int64{"input": 9010, "output": 160, "cached_input": 6000, "cache_creation_input": 3000, "reasoning_output": 60}},
		{"a detail alone makes its count",
			map[string]int64{"input_cached_tokens": 7},
			map[string]int64{"input": 7, "cached_input": 7}},
		{"units of their own stay out of the counts",
			map[string]int64{"input": 5, "web_search": 2},
			map[string]int64{"input": 5, "web_search": 2}},
		{"names that meet are added",
			map[string]int64{"input_cached_tokens": 3, "cache_read_input_tokens": 4, "cached_input": 5},
			map[string]int64{"input": 12, "cached_input": 12}},
		{"unknown input-side names are kept and counted",
			map[string]int64{"input": 1, "input_image": 2},
			map[string]int64{"input": 3, "input_image": 2}},
		{"sums saturate",
			map[string]int64{"input": math.MaxInt64 - 1, "input_cached_tokens": 5},
			map[string]int64{"input": math.MaxInt64, "cached_input": 5}},
		{"counts only", map[string]int64{"input": 3, "output": 2}, map[string]int64{"input": 3, "output": 2}},
		{"nothing", map[string]int64{}, map[string]int64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sent := maps.Clone(tt.lf)
			if got := FromExclusive(tt.lf); !maps.Equal(got, tt.want) {
				t.Errorf("FromExclusive(%v) = %v, want %v", tt.lf, got, tt.want)
			}
			if !maps.Equal(sent, tt.lf) {
				t.Errorf("FromExclusive changed its argument to %v", tt.lf)
			}
		})
	}
}
