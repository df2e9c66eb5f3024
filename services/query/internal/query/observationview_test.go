package query_test

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
	"github.com/agenttrace/agenttrace/services/query/internal/chtest"

	. "github.com/agenttrace/agenttrace/services/query/internal/query"
)

// TestObservationViewAndGetObservation: the basic view returns every field
// of every observation but input and output; GetObservation returns one
// observation whole, as the full view does, its versions merged.
func TestObservationViewAndGetObservation(t *testing.T) {
	svc, conn := newService(t)
	chtest.InsertTraces(t, conn, chtest.Trace{ProjectID: proj, ID: "t1", Timestamp: at(1), Name: "agent", EventTS: at(1)})
	chtest.InsertObservations(t, conn,
		chtest.Observation{ProjectID: proj, TraceID: "t1", ID: "root", Type: "SPAN", Name: "run", Start: at(1), End: at(5),
			Input: `{"q":"hi"}`, Output: `"bye"`, Metadata: [][2]string{{"k", "v"}}, EventTS: at(1)},
		chtest.Observation{ProjectID: proj, TraceID: "t1", ID: "gen", ParentID: "root", Type: "GENERATION", Model: "gpt",
			Start: at(2), ModelParameters: [][2]string{{"temperature", "0"}}, UsageInput: chtest.I(3), CostTotal: chtest.F(0.5),
			Input: `[{"role":"user","content":"hi"}]`, EventTS: at(2)},
		// A later version of the generation: its output, its end.
		chtest.Observation{ProjectID: proj, TraceID: "t1", ID: "gen", End: at(4), Output: `{"role":"assistant","content":"bye"}`, EventTS: at(3)},
		// The same ids in another project and another trace.
		chtest.Observation{ProjectID: other, TraceID: "t1", ID: "gen", Name: "evil", Input: `"evil"`, EventTS: at(9)},
		chtest.Observation{ProjectID: proj, TraceID: "t2", ID: "gen", Name: "other trace", EventTS: at(9)})

	get := func(view queryv1.ObservationView) []*commonv1.Observation {
		t.Helper()
		resp, err := svc.GetTrace(ctx, proj, &queryv1.GetTraceRequest{TraceId: "t1", ObservationView: view})
		if err != nil {
			t.Fatal(err)
		}
		return flatten(t, resp.GetObservations())
	}
	full := get(queryv1.ObservationView_OBSERVATION_VIEW_UNSPECIFIED)
	if !equalObservations(get(queryv1.ObservationView_OBSERVATION_VIEW_FULL), full) {
		t.Error("the full view differs from the default")
	}
	basic := get(queryv1.ObservationView_OBSERVATION_VIEW_BASIC)
	if len(full) != 2 || len(basic) != 2 {
		t.Fatalf("%d observations in the full view, %d in the basic one; want 2", len(full), len(basic))
	}
	for i, o := range full {
		if o.GetInput() == nil || o.GetOutput() == nil {
			t.Fatalf("fixture: %s lacks input or output in the full view", o.GetId())
		}
		want := proto.Clone(o).(*commonv1.Observation)
		want.Input, want.Output = nil, nil
		if !proto.Equal(basic[i], want) {
			t.Errorf("basic view of %s\n got %v\nwant %v", o.GetId(), basic[i], want)
		}

		got, err := svc.GetObservation(ctx, proj, &queryv1.GetObservationRequest{TraceId: "t1", ObservationId: o.GetId()})
		if err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(got.GetObservation(), o) {
			t.Errorf("GetObservation(%s)\n got %v\nwant %v", o.GetId(), got.GetObservation(), o)
		}
	}

	for _, tt := range []struct{ trace, id string }{{"t1", "missing"}, {"missing", "gen"}, {"t3", "gen"}} {
		if _, err := svc.GetObservation(ctx, proj, &queryv1.GetObservationRequest{TraceId: tt.trace, ObservationId: tt.id}); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetObservation(%s, %s) = %v, want ErrNotFound", tt.trace, tt.id, err)
		}
	}
	if _, err := svc.GetObservation(ctx, other, &queryv1.GetObservationRequest{TraceId: "t1", ObservationId: "root"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetObservation from another project = %v, want ErrNotFound", err)
	}
	for field, req := range map[string]*queryv1.GetObservationRequest{
		"trace_id":       {ObservationId: "gen"},
		"observation_id": {TraceId: "t1"},
	} {
		if _, err := svc.GetObservation(ctx, proj, req); fieldOf(t, err) != field {
			t.Errorf("GetObservation(%v): want a %s field error, got %v", req, field, err)
		}
	}
	if _, err := svc.GetTrace(ctx, proj, &queryv1.GetTraceRequest{TraceId: "t1", ObservationView: 7}); fieldOf(t, err) != "observation_view" {
		t.Errorf("unknown view: want an observation_view field error, got %v", err)
	}
}

func equalObservations(a, b []*commonv1.Observation) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !proto.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}
