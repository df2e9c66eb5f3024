package pricing

import (
	"math"
	"testing"
)

func n(v int64) *int64 { return &v }

func TestCompute(t *testing.T) {
	openai := map[string]float64{"input": 2.5e-6, "cached_input": 1.25e-6, "output": 10e-6}
	anthropic := map[string]float64{"input": 3e-6, "cached_input": 0.3e-6, "cache_creation_input": 3.75e-6, "output": 15e-6}
	tests := []struct {
		name              string
		usage             Usage
		prices            map[string]float64
		in, out, total    float64
		hasIn, hasOut, ok bool
	}{
		{"input and output", Usage{Input: n(1000), Output: n(200)}, openai,
			1000 * 2.5e-6, 200 * 10e-6, 1000*2.5e-6 + 200*10e-6, true, true, true},
		{"cached input: uncached = input - cached_input", Usage{Input: n(1000), Output: n(200), Details: map[string]int64{"cached_input": 600}}, openai,
			400*2.5e-6 + 600*1.25e-6, 200 * 10e-6, 400*2.5e-6 + 600*1.25e-6 + 200*10e-6, true, true, true},
		{"cache reads and writes", Usage{Input: n(10000), Output: n(100), Details: map[string]int64{"cached_input": 6000, "cache_creation_input": 3000}}, anthropic,
			1000*3e-6 + 6000*0.3e-6 + 3000*3.75e-6, 100 * 15e-6, 1000*3e-6 + 6000*0.3e-6 + 3000*3.75e-6 + 100*15e-6, true, true, true},
		{"a detail named the Anthropic way is on its side", Usage{Input: n(1000), Details: map[string]int64{"cache_read_input_tokens": 600}},
			map[string]float64{"input": 3e-6, "cache_read_input_tokens": 0.3e-6},
			400*3e-6 + 600*0.3e-6, 0, 400*3e-6 + 600*0.3e-6, true, false, true},
		{"a detail without its own price stays at the side's price", Usage{Input: n(1000), Details: map[string]int64{"cache_creation_input": 500}}, openai,
			1000 * 2.5e-6, 0, 1000 * 2.5e-6, true, false, true},
		{"reasoning not priced separately is output", Usage{Input: n(0), Output: n(500), Details: map[string]int64{"reasoning_output": 300}}, openai,
			0, 500 * 10e-6, 500 * 10e-6, true, true, true},
		{"reasoning priced separately", Usage{Output: n(500), Details: map[string]int64{"reasoning_output": 300}},
			map[string]float64{"output": 1e-6, "reasoning_output": 4e-6},
			0, 200*1e-6 + 300*4e-6, 200*1e-6 + 300*4e-6, false, true, true},
		{"details exceeding the count are not negative", Usage{Input: n(100), Details: map[string]int64{"cached_input": 300}}, openai,
			300 * 1.25e-6, 0, 300 * 1.25e-6, true, false, true},
		{"a unit of its own goes to the total only", Usage{Input: n(100), Details: map[string]int64{"web_search": 2}},
			map[string]float64{"input": 1e-6, "web_search": 0.01},
			100 * 1e-6, 0, 100*1e-6 + 0.02, true, false, true},
		{"a total price", Usage{Input: n(100), Output: n(50)}, map[string]float64{"total": 1e-6},
			0, 0, 150 * 1e-6, false, false, true},
		{"a total price over the sent total", Usage{Total: n(400)}, map[string]float64{"total": 1e-6},
			0, 0, 400 * 1e-6, false, false, true},
		{"embedding: input only", Usage{Input: n(8000)}, map[string]float64{"input": 0.02e-6},
			8000 * 0.02e-6, 0, 8000 * 0.02e-6, true, false, true},
		{"details named like the main counts are ignored", Usage{Input: n(10), Details: map[string]int64{"input": 99, "total": 5}}, openai,
			10 * 2.5e-6, 0, 10 * 2.5e-6, true, false, true},
		{"nothing priced", Usage{Details: map[string]int64{"image": 3}}, openai, 0, 0, 0, false, false, false},
		{"output only but price has none", Usage{Output: n(10)}, map[string]float64{"input": 1}, 0, 0, 0, false, false, false},
		{"no usage", Usage{}, openai, 0, 0, 0, false, false, false},
		{"no prices", Usage{Input: n(10)}, nil, 0, 0, 0, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ok := Compute(tt.usage, tt.prices)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v (cost %v)", ok, tt.ok, c)
			}
			if !ok {
				if c != (Cost{}) {
					t.Fatalf("cost %v without ok", c)
				}
				return
			}
			check := func(field string, got *float64, has bool, want float64) {
				t.Helper()
				switch {
				case (got != nil) != has:
					t.Errorf("%s set = %v, want %v", field, got != nil, has)
				case got != nil && !near(*got, want):
					t.Errorf("%s = %.12g, want %.12g", field, *got, want)
				}
			}
			check("input", c.Input, tt.hasIn, tt.in)
			check("output", c.Output, tt.hasOut, tt.out)
			check("total", c.Total, true, tt.total)
		})
	}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }
