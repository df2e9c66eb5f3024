package consumer_test

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/agenttrace/agenttrace/pkg/chschema"
	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	"github.com/agenttrace/agenttrace/services/worker/internal/pricing"
	"github.com/agenttrace/agenttrace/services/worker/internal/testinfra"
)

// priceSource serves a fixed price list, or fails when prices is nil.
type priceSource struct{ prices []*authv1.ModelPrice }

func (s priceSource) ModelPrices(context.Context) ([]*authv1.ModelPrice, error) {
	if s.prices == nil {
		return nil, errors.New("auth unreachable")
	}
	return s.prices, nil
}

// runCosts runs a price cache over src until the test ends and returns
// the enricher the consumer prices rows with, and its metrics registry.
func runCosts(t *testing.T, src pricing.Source) (*pricing.Enricher, *pricing.Cache, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m := pricing.NewMetrics(reg)
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	cache := pricing.NewCache(src, log, m, pricing.Config{Refresh: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cache.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("price cache: %v", err)
		}
	})
	return pricing.NewEnricher(cache, m), cache, reg
}

const (
	gpt4oIn, gpt4oOut = 2.5e-6, 10e-6
	overrideIn        = 1e-6
)

func gpt4oPrices() []*authv1.ModelPrice {
	from := timestamppb.New(time.Date(2024, 10, 2, 0, 0, 0, 0, time.UTC))
	return []*authv1.ModelPrice{
		{Id: "g", ModelName: "gpt-4o", MatchPattern: `(?:[a-z0-9_.-]+/)*gpt-4o(?:-\d{4}-\d{2}-\d{2})?`, EffectiveFrom: from,
			Prices: map[string]float64{"input": gpt4oIn, "cached_input": 1.25e-6, "output": gpt4oOut}},
		{Id: "o", ProjectId: "proj-override", ModelName: "gpt-4o", MatchPattern: "gpt-4o", EffectiveFrom: from,
			Prices: map[string]float64{"input": overrideIn, "output": overrideIn}},
	}
}

func generationEvent(id, obsID, traceID, model string, u *commonv1.Usage, c *commonv1.Cost) *ingestv1.IngestEvent {
	return &ingestv1.IngestEvent{Id: id, Timestamp: at(time.Second), Type: ingestv1.EventType_EVENT_TYPE_OBSERVATION_CREATE,
		Observation: &ingestv1.ObservationBody{Id: obsID, TraceId: traceID, Model: proto.String(model), Usage: u, Cost: c,
			Type: commonv1.ObservationType_OBSERVATION_TYPE_GENERATION, StartTime: at(0)}}
}

func i64(v int64) *int64       { return &v }
func f64(v float64) *float64   { return &v }
func approx(a, b float64) bool { return math.Abs(a-b) <= 1e-12 }

// TestComputedCostsRollUp: the worker prices generations that came without
// a cost (native and OTLP), keeps the client's cost, applies a project's
// override, and the costs roll up per trace and per session the way query
// sums them (GetTrace's trace.cost, ListSessions' totals).
func TestComputedCostsRollUp(t *testing.T) {
	h := newHarness(t)
	costs, cache, reg := runCosts(t, priceSource{gpt4oPrices()})
	eventually(t, 10*time.Second, "the price table", func() bool { return cache.Table() != nil })
	h.costs = costs
	h.start(testConfig(), h.conn)

	const project = "proj-costs"
	h.publish(envelope(project,
		traceEvent("t1", "tr-1", 0, &ingestv1.TraceBody{SessionId: proto.String("sess-1")}, false),
		traceEvent("t2", "tr-2", 0, &ingestv1.TraceBody{SessionId: proto.String("sess-1")}, false),
		// Computed, with cached input: 400 uncached + 600 cached + 50 output.
		generationEvent("g1", "gen-1", "tr-1", "openai/gpt-4o-2024-08-06",
			&commonv1.Usage{Input: i64(1000), Output: i64(50), Details: map[string]int64{"cached_input": 600}}, nil),
		// The client's cost wins.
		generationEvent("g2", "gen-2", "tr-1", "gpt-4o", &commonv1.Usage{Input: i64(1000), Output: i64(50)}, &commonv1.Cost{Total: f64(7)}),
		// Another trace of the session.
		generationEvent("g3", "gen-3", "tr-2", "GPT-4o", &commonv1.Usage{Input: i64(100), Output: i64(10)}, nil),
		// Unknown model: stored without a cost.
		generationEvent("g4", "gen-4", "tr-2", "llama-3-70b", &commonv1.Usage{Input: i64(100)}, nil),
	), "costs-1")
	// An OTLP export: the LLM span (gpt-4o, 100 in, 20 out) is priced after
	// the envelope is expanded.
	s := agentSpans(t)
	h.publish(otlpEnvelope(t, project, s[otlpRoot], s[otlpLLM], s[otlpTool]), "costs-otlp")
	// The same generation in a project with an override.
	h.publish(envelope("proj-override", traceEvent("t5", "tr-5", 0, &ingestv1.TraceBody{}, false),
		generationEvent("g5", "gen-5", "tr-5", "gpt-4o", &commonv1.Usage{Input: i64(100), Output: i64(10)}, nil)), "costs-2")

	gen1 := 400*gpt4oIn + 600*1.25e-6 + 50*gpt4oOut
	gen3 := 100*gpt4oIn + 10*gpt4oOut
	otlp := 100*gpt4oIn + 20*gpt4oOut
	tests := []struct {
		project, trace string
		want           float64
	}{
		{project, "tr-1", gen1 + 7},
		{project, "tr-2", gen3},
		{project, otlpTrace, otlp},
		{"proj-override", "tr-5", 100*overrideIn + 10*overrideIn},
	}
	// Wait for every message's rows (the assertions below then say what
	// differs): the unpriced generation and each trace's expected cost.
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		done := h.rowsOf(project, "gen-4") == 1
		for _, tt := range tests {
			got, ok := h.traceCost(tt.project, tt.trace)
			done = done && ok && approx(got, tt.want)
		}
		if done {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, tt := range tests {
		if got, ok := h.traceCost(tt.project, tt.trace); !ok || !approx(got, tt.want) {
			t.Errorf("trace %s cost = %v (set %v), want %v", tt.trace, got, ok, tt.want)
		}
	}
	if got, ok := h.sessionCost(project, "sess-1"); !ok || !approx(got, gen1+7+gen3) {
		t.Errorf("session cost = %v (set %v), want %v", got, ok, gen1+7+gen3)
	}
	in, out := h.observationCost(project, "gen-1")
	if !approx(in, 400*gpt4oIn+600*1.25e-6) || !approx(out, 50*gpt4oOut) {
		t.Errorf("gen-1 cost input %v output %v", in, out)
	}
	if _, ok := h.traceCostOf(project, "gen-4"); ok || h.rowsOf(project, "gen-4") != 1 {
		t.Error("the generation of an unpriced model is missing or got a cost")
	}
	for outcome, want := range map[string]float64{"computed": 4, "client": 1, "no_price": 1} {
		if got := testinfra.Metric(t, reg, "agenttrace_worker_cost_computed_total", "outcome", outcome); got != want {
			t.Errorf("cost outcome %s = %v, want %v", outcome, got, want)
		}
	}
}

// TestCostsNeverBlockIngestion: a worker that never reached auth stores
// generations at once, without computed costs.
func TestCostsNeverBlockIngestion(t *testing.T) {
	h := newHarness(t)
	costs, cache, reg := runCosts(t, priceSource{})
	h.costs = costs
	h.start(testConfig(), h.conn)
	h.publish(envelope("proj-down", traceEvent("t1", "tr-1", 0, &ingestv1.TraceBody{}, false),
		generationEvent("g1", "gen-1", "tr-1", "gpt-4o", &commonv1.Usage{Input: i64(1000)}, nil)), "down-1")
	eventually(t, 10*time.Second, "the rows", func() bool { return h.count(chschema.Observations) == 1 })
	if cache.Table() != nil {
		t.Fatal("a price table without auth")
	}
	if _, ok := h.traceCost("proj-down", "tr-1"); ok {
		t.Fatal("a cost computed without prices")
	}
	if got := testinfra.Metric(t, reg, "agenttrace_worker_cost_computed_total", "outcome", "no_price"); got != 1 {
		t.Fatalf("no_price = %v", got)
	}
}

// rowsOf is the number of rows of one observation.
func (h *harness) rowsOf(project, id string) uint64 {
	h.t.Helper()
	var n uint64
	if err := h.conn.QueryRow(context.Background(),
		"SELECT count() FROM "+chschema.Observations+" WHERE "+chschema.ColProjectID+" = ? AND "+chschema.ColID+" = ?", project, id).Scan(&n); err != nil {
		h.t.Fatal(err)
	}
	return n
}

// count is the number of rows in a table of the test database.
func (h *harness) count(table string) uint64 {
	h.t.Helper()
	var n uint64
	if err := h.conn.QueryRow(context.Background(), "SELECT count() FROM "+table).Scan(&n); err != nil {
		h.t.Fatal(err)
	}
	return n
}

// mergedCosts merges each observation's cost_total as query does (the
// newest version that set it) and sums them over the observations that
// where selects; ok is false when none has a cost.
func (h *harness) mergedCosts(where string, args ...any) (float64, bool) {
	h.t.Helper()
	var total *float64
	err := h.conn.QueryRow(context.Background(),
		"SELECT toNullable(sum("+chschema.Merged(chschema.ColCostTotal)+")) FROM (SELECT "+
			chschema.MergeNullable(chschema.ColCostTotal)+" FROM "+chschema.Observations+
			" WHERE "+where+" GROUP BY "+chschema.ObservationKey+")", args...).Scan(&total)
	if err != nil {
		h.t.Fatal(err)
	}
	if total == nil {
		return 0, false
	}
	return *total, true
}

func (h *harness) traceCost(project, trace string) (float64, bool) {
	return h.mergedCosts(chschema.ColProjectID+" = ? AND "+chschema.ColTraceID+" = ?", project, trace)
}

func (h *harness) traceCostOf(project, observation string) (float64, bool) {
	return h.mergedCosts(chschema.ColProjectID+" = ? AND "+chschema.ColID+" = ?", project, observation)
}

// sessionCost sums the costs of the traces whose merged session_id is
// session, as ListSessions derives a session's totals.
func (h *harness) sessionCost(project, session string) (float64, bool) {
	return h.mergedCosts(chschema.ColProjectID+" = ? AND "+chschema.ColTraceID+" IN (SELECT "+chschema.ColID+" FROM ("+
		"SELECT "+chschema.ColID+", "+chschema.MergeString(chschema.ColSessionID)+" FROM "+chschema.Traces+
		" WHERE "+chschema.ColProjectID+" = ? GROUP BY "+chschema.ColID+") WHERE "+chschema.Merged(chschema.ColSessionID)+" = ?)",
		project, project, session)
}

func (h *harness) observationCost(project, id string) (in, out float64) {
	h.t.Helper()
	var i, o *float64
	if err := h.conn.QueryRow(context.Background(),
		"SELECT "+chschema.List(chschema.MergeNullable(chschema.ColCostInput), chschema.MergeNullable(chschema.ColCostOutput))+
			" FROM "+chschema.Observations+" WHERE "+chschema.ColProjectID+" = ? AND "+chschema.ColID+" = ?", project, id).Scan(&i, &o); err != nil {
		h.t.Fatal(err)
	}
	if i == nil || o == nil {
		h.t.Fatalf("observation %s cost %v %v", id, i, o)
	}
	return *i, *o
}
