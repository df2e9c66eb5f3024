package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
)

// metricsGeneration is one LLM call of the metrics fixture.
type metricsGeneration struct {
	model, env, release, user string
	latency                   time.Duration
	in, out                   int64
	cost                      float64
	failed                    bool
}

// metricsEvents are a trace per generation, ingested as the SDKs do: the
// generation created, then updated with its end, usage, cost and level.
func metricsEvents(label string, start time.Time, gens []metricsGeneration) []*ingestv1.IngestEvent {
	var events []*ingestv1.IngestEvent
	for i, g := range gens {
		ts := start.Add(time.Duration(i) * time.Second)
		traceID, obsID := randomHex(16), randomHex(8)
		eid := func(kind string) string { return fmt.Sprintf("%s-%s-%d-%s", label, kind, i, randomHex(4)) }
		level := commonv1.ObservationLevel_OBSERVATION_LEVEL_DEFAULT
		if g.failed {
			level = commonv1.ObservationLevel_OBSERVATION_LEVEL_ERROR
		}
		events = append(events,
			&ingestv1.IngestEvent{Id: eid("trace"), Timestamp: timestamppb.New(ts), Type: ingestv1.EventType_EVENT_TYPE_TRACE_CREATE,
				Trace: &ingestv1.TraceBody{Id: traceID, Name: proto.String(label), Timestamp: timestamppb.New(ts),
					UserId: proto.String(g.user), Release: proto.String(g.release), Environment: proto.String(g.env)}},
			&ingestv1.IngestEvent{Id: eid("create"), Timestamp: timestamppb.New(ts), Type: ingestv1.EventType_EVENT_TYPE_OBSERVATION_CREATE,
				Observation: &ingestv1.ObservationBody{Id: obsID, TraceId: traceID, Type: commonv1.ObservationType_OBSERVATION_TYPE_GENERATION,
					Name: proto.String("llm"), StartTime: timestamppb.New(ts), Model: proto.String(g.model), Environment: proto.String(g.env)}},
			&ingestv1.IngestEvent{Id: eid("update"), Timestamp: timestamppb.New(ts.Add(g.latency)), Type: ingestv1.EventType_EVENT_TYPE_OBSERVATION_UPDATE,
				Observation: &ingestv1.ObservationBody{Id: obsID, TraceId: traceID, Type: commonv1.ObservationType_OBSERVATION_TYPE_GENERATION,
					EndTime: timestamppb.New(ts.Add(g.latency)), Level: level,
					Usage: &commonv1.Usage{Input: proto.Int64(g.in), Output: proto.Int64(g.out)},
					Cost:  &commonv1.Cost{Total: proto.Float64(g.cost)}}},
		)
	}
	return events
}

// metricsRows queries metrics over REST, GET with ?query= or POST with the
// query as the body, and returns the rows (nil and the response on an error
// status).
func metricsRows(t *testing.T, c *restClient, method, query string) ([]map[string]any, response) {
	t.Helper()
	var r response
	if method == http.MethodGet {
		r = c.do(t, method, "/api/v1/metrics?"+url.Values{"query": {query}}.Encode(), nil)
	} else {
		r = c.do(t, method, "/api/v1/metrics", []byte(query))
	}
	if r.status != http.StatusOK {
		return nil, r
	}
	var out struct {
		Data []map[string]any `json:"data"`
	}
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatalf("metrics answer is not JSON: %v\n%s", err, r)
	}
	return out.Data, r
}

// TestMetrics ingests a known workload into two projects over REST and
// reads the common dashboards back through GET and POST /api/v1/metrics:
// each project sees exactly its own numbers.
func TestMetrics(t *testing.T) {
	s := requireStack(t)
	keyA := s.bootstrap(t, "e2e-metrics-a", "metrics-a")
	keyB := s.bootstrap(t, "e2e-metrics-b", "metrics-b")
	a, b := s.rest(keyA.basic()), s.rest(keyB.basic())
	// Two days ago at noon, so that every event falls in one day's bucket.
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -2)
	start := day.Add(12 * time.Hour)
	label := "metrics-" + randomHex(4)
	genA := []metricsGeneration{
		{model: "gpt-4o", env: "production", release: "v1", user: "ann", latency: 100 * time.Millisecond, in: 100, out: 10, cost: 0.5},
		{model: "gpt-4o", env: "production", release: "v2", user: "bob", latency: 300 * time.Millisecond, in: 200, out: 20, cost: 1.25},
		{model: "claude", env: "production", release: "v2", user: "ann", latency: 700 * time.Millisecond, in: 50, out: 5, cost: 2, failed: true},
		{model: "claude", env: "staging", release: "v2", user: "cid", latency: 900 * time.Millisecond, in: 10, out: 1, cost: 0.25, failed: true},
	}
	genB := []metricsGeneration{ // the same shape with other numbers: a leak would change A's sums
		{model: "gpt-4o", env: "production", release: "v1", user: "ann", latency: 5 * time.Second, in: 9000, out: 900, cost: 100},
	}
	a.mustIngest(t, metricsEvents(label, start, genA))
	b.mustIngest(t, metricsEvents(label, start, genB))

	window := fmt.Sprintf(`"fromTimestamp": %q, "toTimestamp": %q`, day.Format(time.RFC3339), day.AddDate(0, 0, 1).Format(time.RFC3339))
	byTrace := `{"column": "traceName", "operator": "=", "value": "` + label + `"}`
	costPerModelPerDay := `{"view": "observations", "dimensions": [{"field": "providedModelName"}],
		"metrics": [{"measure": "totalCost", "aggregation": "sum"}, {"measure": "count", "aggregation": "count"}],
		"filters": [` + byTrace + `], "timeDimension": {"granularity": "day"}, ` + window + `,
		"orderBy": [{"field": "sum_totalCost", "direction": "desc"}]}`
	dayBucket := day.Format(time.RFC3339)
	wantCost := []string{"claude " + dayBucket + " 2.25 2", "gpt-4o " + dayBucket + " 1.75 2"}
	show := func(rows []map[string]any, cols ...string) []string {
		var out []string
		for _, r := range rows {
			var parts []string
			for _, c := range cols {
				parts = append(parts, fmt.Sprint(r[c]))
			}
			out = append(out, strings.Join(parts, " "))
		}
		return out
	}
	costCols := []string{"providedModelName", "time_dimension", "sum_totalCost", "count_count"}
	// waitCost polls c's cost per model per day until it is want.
	waitCost := func(t *testing.T, what string, c *restClient, want []string) {
		t.Helper()
		eventually(t, what, visibleTimeout, func() problems {
			var p problems
			rows, r := metricsRows(t, c, http.MethodGet, costPerModelPerDay)
			if r.status != http.StatusOK {
				p.addf("cost per model per day: %s", r)
				return p
			}
			p.diff("cost per model per day (GET)", want, show(rows, costCols...))
			return p
		})
	}
	waitCost(t, "A's generations counted by the metrics API", a, wantCost)

	tests := []struct {
		name  string
		query string
		cols  []string
		want  []string
	}{
		{"cost per model per day, POST", costPerModelPerDay, costCols, wantCost},
		{"p95 latency per release", `{"view": "observations", "dimensions": [{"field": "release"}],
			"metrics": [{"measure": "latency", "aggregation": "p95"}, {"measure": "latency", "aggregation": "max"}],
			"filters": [` + byTrace + `], ` + window + `}`,
			[]string{"release", "p95_latency", "max_latency"}, []string{"v1 100 100", "v2 900 900"}},
		{"error rate per environment", `{"view": "observations", "dimensions": [{"field": "environment"}],
			"metrics": [{"measure": "errors", "aggregation": "avg"}, {"measure": "errors", "aggregation": "sum"}],
			"filters": [` + byTrace + `], ` + window + `}`,
			[]string{"environment", "avg_errors", "sum_errors"}, []string{"production 0.3333333333333333 1", "staging 1 1"}},
		{"tokens of one user", `{"view": "traces", "metrics": [{"measure": "totalTokens", "aggregation": "sum"}, {"measure": "inputTokens", "aggregation": "sum"}],
			"filters": [{"column": "name", "operator": "=", "value": "` + label + `"}, {"column": "userId", "operator": "=", "value": "ann"}], ` + window + `}`,
			[]string{"sum_totalTokens", "sum_inputTokens"}, []string{"165 150"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, r := metricsRows(t, a, http.MethodPost, tt.query)
			if r.status != http.StatusOK {
				t.Fatalf("%s", r)
			}
			if got := show(rows, tt.cols...); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}

	t.Run("tenancy", func(t *testing.T) {
		waitCost(t, "B's generation counted", b, []string{"gpt-4o " + dayBucket + " 100 1"})
		// A's numbers are still exactly A's once B's are in.
		rows, _ := metricsRows(t, a, http.MethodGet, costPerModelPerDay)
		if got := show(rows, costCols...); !slices.Equal(got, wantCost) {
			t.Errorf("A after B's ingest: got %q, want %q", got, wantCost)
		}
	})

	t.Run("refusals", func(t *testing.T) {
		_, r := metricsRows(t, a, http.MethodGet, `{"view": "traces", "dimensions": [{"field": "userId"}], "metrics": [{"measure": "count", "aggregation": "count"}], `+window+`}`)
		e := checkError(t, "group by user", r, http.StatusBadRequest, "INVALID_ARGUMENT")
		if len(e.Error.FieldViolations) != 1 || e.Error.FieldViolations[0].Field != "query.dimensions[0].field" {
			t.Errorf("group by user: want the field violation query.dimensions[0].field, got %s", r)
		}
		_, r = metricsRows(t, a, http.MethodGet, `{"view": "traces", "metrics": [{"measure": "count", "aggregation": "count"}]}`)
		checkError(t, "no window", r, http.StatusBadRequest, "INVALID_ARGUMENT")
		_, r = metricsRows(t, a, http.MethodGet, `{"view": "traces",`)
		checkError(t, "not JSON", r, http.StatusBadRequest, "INVALID_ARGUMENT")
		_, r = metricsRows(t, s.rest(""), http.MethodGet, costPerModelPerDay)
		checkError(t, "no credentials", r, http.StatusUnauthorized, "UNAUTHENTICATED")
	})
}
