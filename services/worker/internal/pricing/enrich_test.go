package pricing

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/agenttrace/agenttrace/pkg/chschema"
)

// fixedTables serves one table (nil: none loaded).
type fixedTables struct{ t *Table }

func (f fixedTables) Table() *Table { return f.t }

func nanos(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(t.UnixNano())
}

// generation is an observation row as eventrows makes it from an event of
// 2025-03-01 (start is zero for an event without start_time).
func generation(model string, start time.Time, u Usage) chschema.Observation {
	o := chschema.Observation{ProjectID: "p", TraceID: "tr", ID: "ob", Type: "GENERATION", Model: model,
		StartTime: nanos(start), EventTS: nanos(day("2025-03-01")),
		UsageInput: u.Input, UsageOutput: u.Output, UsageTotal: u.Total,
		UsageDetailsKeys: []string{}, UsageDetailsValues: []int64{}}
	for k, v := range u.Details {
		o.UsageDetailsKeys = append(o.UsageDetailsKeys, k)
		o.UsageDetailsValues = append(o.UsageDetailsValues, v)
	}
	return o
}

func f(v float64) *float64 { return &v }

func withCost(o chschema.Observation, in, out, total *float64) chschema.Observation {
	o.CostInput, o.CostOutput, o.CostTotal = in, out, total
	return o
}

func TestEnrich(t *testing.T) {
	table, _ := NewTable(fixture())
	usage := Usage{Input: n(1000), Output: n(100)}
	tests := []struct {
		name    string
		project string
		row     chschema.Observation
		outcome string
		in, out *float64 // the cost after enrichment; nil for unset
		total   *float64
	}{
		{"computed from the price at start_time", "p0", generation("gpt-4o", day("2024-06-01"), usage),
			OutcomeComputed, f(1000 * 5e-6), f(100 * 15e-6), f(1000*5e-6 + 100*15e-6)},
		{"without start_time, at the event timestamp", "p0", generation("gpt-4o", time.Time{}, usage),
			OutcomeComputed, f(1000 * 2.5e-6), f(100 * 10e-6), f(1000*2.5e-6 + 100*10e-6)},
		{"cached input from the details", "p0", generation("gpt-4o", day("2025-01-01"),
			Usage{Input: n(1000), Output: n(100), Details: map[string]int64{"cached_input": 800}}),
			OutcomeComputed, f(200*2.5e-6 + 800*1.25e-6), f(100 * 10e-6), f(200*2.5e-6 + 800*1.25e-6 + 100*10e-6)},
		{"the project's override", "p1", generation("gpt-4o", day("2025-01-01"), usage),
			OutcomeComputed, f(1000 * 1e-6), f(100 * 1e-6), f(1000*1e-6 + 100*1e-6)},
		{"the client's cost wins", "p0", withCost(generation("gpt-4o", day("2025-01-01"), usage), nil, nil, f(42)),
			OutcomeClient, nil, nil, f(42)},
		{"a client cost of only input wins", "p0", withCost(generation("gpt-4o", day("2025-01-01"), usage), f(0), nil, nil),
			OutcomeClient, f(0), nil, nil},
		{"model without usage", "p0", generation("gpt-4o", day("2025-01-01"), Usage{}), OutcomeNoUsage, nil, nil, nil},
		{"usage without model (an update)", "p0", generation("", day("2025-01-01"), usage), OutcomeNoPrice, nil, nil, nil},
		{"unknown model", "p0", generation("llama-3", day("2025-01-01"), usage), OutcomeNoPrice, nil, nil, nil},
		{"before the first price", "p0", generation("gpt-4o", day("2024-01-01"), usage), OutcomeNoPrice, nil, nil, nil},
		{"usage the price does not cover", "p0", generation("gpt-4o", day("2025-01-01"), Usage{Details: map[string]int64{"image": 2}}),
			OutcomeNoPrice, nil, nil, nil},
		{"neither model nor usage", "p0", generation("", day("2025-01-01"), Usage{}), "", nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMetrics(prometheus.NewRegistry())
			rows := []chschema.Observation{tt.row}
			NewEnricher(fixedTables{table}, m).Enrich(tt.project, rows)
			got := rows[0]
			for _, c := range []struct {
				field     string
				got, want *float64
			}{{"input", got.CostInput, tt.in}, {"output", got.CostOutput, tt.out}, {"total", got.CostTotal, tt.total}} {
				switch {
				case (c.got == nil) != (c.want == nil):
					t.Errorf("cost %s = %v, want %v", c.field, c.got, c.want)
				case c.got != nil && !near(*c.got, *c.want):
					t.Errorf("cost %s = %.12g, want %.12g", c.field, *c.got, *c.want)
				}
			}
			for _, o := range []string{OutcomeComputed, OutcomeClient, OutcomeNoPrice, OutcomeNoUsage} {
				want := 0.0
				if o == tt.outcome {
					want = 1
				}
				if got := testutil.ToFloat64(m.costs.WithLabelValues(o)); got != want {
					t.Errorf("outcome %s counted %v times, want %v", o, got, want)
				}
			}
		})
	}
}

func TestEnrichWithoutTable(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry())
	rows := []chschema.Observation{generation("gpt-4o", day("2025-01-01"), Usage{Input: n(10)})}
	NewEnricher(fixedTables{}, m).Enrich("p0", rows)
	if rows[0].CostTotal != nil {
		t.Fatal("priced without a table")
	}
	if got := testutil.ToFloat64(m.costs.WithLabelValues(OutcomeNoPrice)); got != 1 {
		t.Fatalf("no_price = %v", got)
	}
}

func TestUsageOfIgnoresMismatchedDetails(t *testing.T) {
	o := generation("m", time.Time{}, Usage{Input: n(1)})
	o.UsageDetailsKeys = []string{"cached_input"}
	if u := usageOf(&o); u.Details != nil {
		t.Fatalf("details from mismatched arrays: %v", u.Details)
	}
}
