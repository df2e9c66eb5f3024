package e2e

import (
	"testing"
	"time"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
)

// TestFixtureShape checks that the generated data set really covers what
// the end-to-end test claims to exercise; it needs no server.
func TestFixtureShape(t *testing.T) {
	base := time.Date(2025, 1, 2, 3, 0, 0, 0, time.UTC)
	f := newFixture(projectASpec(base))
	w := merge("p", f.allEvents())

	if len(w.traces) != 50 || len(w.observations) != 1000 || len(w.scores) != 100 {
		t.Fatalf("want 50 traces, 1000 observations, 100 scores; got %d, %d, %d", len(w.traces), len(w.observations), len(w.scores))
	}
	if again := newFixture(projectASpec(base)); again.describe() != f.describe() ||
		merge("p", again.allEvents()).getTrace(traceID(7)).String() != w.getTrace(traceID(7)).String() {
		t.Error("fixture is not deterministic")
	}

	types := map[commonv1.ObservationType]bool{}
	levels := map[commonv1.ObservationLevel]bool{}
	maxDepth := 0
	for _, o := range w.observations {
		types[o.GetType()] = true
		levels[o.GetLevel()] = true
		d := 1
		for p := o.GetParentObservationId(); p != ""; p = w.observations[p].GetParentObservationId() {
			d++
		}
		maxDepth = max(maxDepth, d)
		if o.GetType() == commonv1.ObservationType_OBSERVATION_TYPE_GENERATION {
			u := o.GetUsage()
			if o.GetModel() == "" || len(o.GetModelParameters()) == 0 || o.GetCompletionStartTime() == nil ||
				u.GetDetails()["cached_input"] == 0 || u.GetDetails()["reasoning_output"] == 0 || u.GetTotal() != u.GetInput()+u.GetOutput() ||
				o.GetCost().Total == nil {
				t.Errorf("generation %s lacks a field the test must cover: %v", o.GetId(), o)
			}
		}
		if o.GetEndTime() == nil || o.GetOutput() == nil {
			t.Errorf("observation %s has no end_time or output after its updates", o.GetId())
		}
		if o.GetLevel() == commonv1.ObservationLevel_OBSERVATION_LEVEL_ERROR && o.GetStatusMessage() == "" {
			t.Errorf("observation %s is an ERROR without a status message", o.GetId())
		}
	}
	if len(types) != len(allObservationTypes) {
		t.Errorf("observation types used: %v, want all %d", types, len(allObservationTypes))
	}
	if len(levels) != 4 {
		t.Errorf("levels used: %v, want all 4", levels)
	}
	if maxDepth != 4 {
		t.Errorf("nesting depth %d, want 4", maxDepth)
	}

	dataTypes := map[commonv1.ScoreDataType]int{}
	var onObs, onSession int
	for _, s := range w.scores {
		dataTypes[s.GetDataType()]++
		if s.GetObservationId() != "" {
			onObs++
		}
		if s.GetSessionId() != "" && s.GetTraceId() == "" {
			onSession++
		}
	}
	if len(dataTypes) != 3 || onObs == 0 || onSession == 0 {
		t.Errorf("scores: data types %v, %d on observations, %d on sessions; want all types and both", dataTypes, onObs, onSession)
	}

	// Some updates precede their create in send order; some batches repeat.
	createdAt := map[string]int{}
	updatesFirst := 0
	for i, e := range f.allEvents() {
		key := objectKey(e)
		switch e.GetType() {
		case ingestv1.EventType_EVENT_TYPE_TRACE_CREATE, ingestv1.EventType_EVENT_TYPE_OBSERVATION_CREATE, ingestv1.EventType_EVENT_TYPE_SCORE_CREATE:
			createdAt[key] = i
		default:
			if _, ok := createdAt[key]; !ok {
				updatesFirst++
			}
		}
	}
	if updatesFirst == 0 || len(f.resend) == 0 {
		t.Errorf("%d updates sent before their create, %d batches resent; want some of both", updatesFirst, len(f.resend))
	}
	if w.getTrace(traceID(0)).GetTrace().GetObservationCount() != 20 || len(w.sessions) == 0 {
		t.Error("derived trace totals or sessions missing")
	}
	t.Log(f.describe())
}

func objectKey(e *ingestv1.IngestEvent) string {
	switch {
	case e.GetTrace() != nil:
		return "trace/" + e.GetTrace().GetId()
	case e.GetObservation() != nil:
		return "observation/" + e.GetObservation().GetId()
	default:
		return "score/" + e.GetScore().GetId()
	}
}
