package query_test

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
	"github.com/agenttrace/agenttrace/services/query/internal/chtest"

	. "github.com/agenttrace/agenttrace/services/query/internal/query"
)

func TestGetTraceMergesVersionsInAnyOrder(t *testing.T) {
	create := chtest.Trace{ProjectID: proj, ID: "t1", Timestamp: at(1.000000123), Name: "first", UserID: "u1",
		Tags: []string{"x", "shared"}, Metadata: [][2]string{{"k1", "v1"}, {"k2", "old"}},
		Input: `{"q":"hi"}`, Environment: "prod", EventTS: at(1)}
	update := chtest.Trace{ProjectID: proj, ID: "t1", Name: "second", Tags: []string{"y", "shared"},
		Metadata: [][2]string{{"k2", "new"}, {"k3", "v3"}}, Output: `"done"`, EventTS: at(2)}
	partial := chtest.Trace{ProjectID: proj, ID: "t1", Release: "r7", EventTS: at(3)}
	// Same ids in another project, newer: must never leak into proj's merge.
	foreign := chtest.Trace{ProjectID: other, ID: "t1", Name: "evil", Tags: []string{"evil"}, Release: "evil", EventTS: at(9)}

	tests := []struct {
		name    string
		batches [][]chtest.Trace
	}{
		{"in order, one batch", [][]chtest.Trace{{create, update, partial, foreign}}},
		{"reversed, separate inserts", [][]chtest.Trace{{partial}, {foreign}, {update}, {create}}},
		{"redelivered create", [][]chtest.Trace{{update, create}, {create, partial}, {foreign, partial}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, conn := newService(t)
			for _, b := range tt.batches {
				chtest.InsertTraces(t, conn, b...)
			}
			resp, err := svc.GetTrace(ctx, proj, &queryv1.GetTraceRequest{TraceId: "t1"})
			if err != nil {
				t.Fatal(err)
			}
			want := &commonv1.Trace{
				Id: "t1", ProjectId: proj, Name: "second", UserId: "u1", Timestamp: fromNanos(at(1.000000123)),
				Tags: []string{"shared", "x", "y"}, Metadata: map[string]string{"k1": "v1", "k2": "new", "k3": "v3"},
				Input:  structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{"q": structpb.NewStringValue("hi")}}),
				Output: structpb.NewStringValue("done"), Release: "r7", Environment: "prod", UpdatedAt: fromNanos(at(3)),
			}
			if !proto.Equal(resp.GetTrace(), want) {
				t.Errorf("merged trace\n got %v\nwant %v", resp.GetTrace(), want)
			}
			if got := resp.GetTrace().GetTimestamp().GetNanos(); got != 123 {
				t.Errorf("timestamp lost precision: nanos %d", got)
			}
		})
	}
}

func TestGetTraceNotFound(t *testing.T) {
	svc, conn := newService(t)
	chtest.InsertTraces(t, conn, chtest.Trace{ProjectID: other, ID: "theirs", Name: "x", EventTS: at(1)})
	chtest.InsertObservations(t, conn, chtest.Observation{ProjectID: other, TraceID: "theirs", ID: "o", EventTS: at(1)})
	for _, id := range []string{"missing", "theirs"} {
		if _, err := svc.GetTrace(ctx, proj, &queryv1.GetTraceRequest{TraceId: id}); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetTrace(%s) = %v, want ErrNotFound", id, err)
		}
	}
	if _, err := svc.GetTrace(ctx, proj, &queryv1.GetTraceRequest{}); fieldOf(t, err) != "trace_id" {
		t.Errorf("empty trace id: want trace_id field error")
	}
}

// treeShape renders a tree as "id(child,child)" for comparison.
func treeShape(nodes []*queryv1.ObservationNode) string {
	s := ""
	for i, n := range nodes {
		if i > 0 {
			s += ","
		}
		s += n.GetObservation().GetId()
		if len(n.GetChildren()) > 0 {
			s += "(" + treeShape(n.GetChildren()) + ")"
		}
	}
	return s
}

func TestGetTraceTreeAndDerivedFields(t *testing.T) {
	svc, conn := newService(t)
	chtest.InsertTraces(t, conn, chtest.Trace{ProjectID: proj, ID: "t1", Timestamp: at(10), Name: "agent", EventTS: at(10)})
	obs := func(id, parent string, start float64) chtest.Observation {
		return chtest.Observation{ProjectID: proj, TraceID: "t1", ID: id, ParentID: parent, Type: "SPAN", Start: at(start), EventTS: at(start)}
	}
	gen := obs("gen", "tool", 13)
	gen.Type, gen.Model = "GENERATION", "gpt"
	gen.UsageInput, gen.UsageOutput, gen.CostTotal = chtest.I(100), chtest.I(20), chtest.F(0.5)
	gen.UsageDetails = map[string]int64{"cached_input": 40}
	gen.ModelParameters = [][2]string{{"temperature", "0.1"}}
	chtest.InsertObservations(t, conn,
		obs("root", "", 10.5), obs("b", "root", 12), obs("a", "root", 11), obs("tool", "a", 12.5), gen,
		obs("tie2", "root", 12), // same start as b: ordered by id
		obs("orphan", "gone", 11.5),
		obs("cyc1", "cyc2", 14), obs("cyc2", "cyc1", 15), obs("self", "self", 16),
		// Updates: end time, more usage, and a newer usage detail value.
		chtest.Observation{ProjectID: proj, TraceID: "t1", ID: "gen", End: at(19), UsageTotal: chtest.I(120),
			UsageDetails: map[string]int64{"cached_input": 50, "reasoning": 5}, CostTotal: chtest.F(0.75), EventTS: at(20)},
		chtest.Observation{ProjectID: proj, TraceID: "t1", ID: "b", End: at(30), CostInput: chtest.F(0.25), UsageInput: chtest.I(1), EventTS: at(21)},
		// Same ids in another project and another trace.
		chtest.Observation{ProjectID: other, TraceID: "t1", ID: "root", End: at(99), UsageInput: chtest.I(1000), EventTS: at(99)},
		chtest.Observation{ProjectID: proj, TraceID: "t2", ID: "root", End: at(99), EventTS: at(99)},
	)
	chtest.InsertScores(t, conn,
		chtest.Score{ProjectID: proj, ID: "s1", TraceID: "t1", Name: "quality", DataType: "NUMERIC", Value: chtest.F(0), Source: "API", Timestamp: at(40), EventTS: at(40)},
		chtest.Score{ProjectID: proj, ID: "s1", Comment: "revised", Value: chtest.F(0.9), EventTS: at(41)}, // update without trace id
		chtest.Score{ProjectID: proj, ID: "s2", TraceID: "t1", ObservationID: "gen", Name: "ok", DataType: "BOOLEAN", Value: chtest.F(0), Timestamp: at(39), EventTS: at(39)},
		chtest.Score{ProjectID: proj, ID: "s3", TraceID: "t2", Name: "elsewhere", EventTS: at(39)},
		chtest.Score{ProjectID: other, ID: "s2", TraceID: "t1", Name: "evil", EventTS: at(50)},
	)

	resp, err := svc.GetTrace(ctx, proj, &queryv1.GetTraceRequest{TraceId: "t1"})
	if err != nil {
		t.Fatal(err)
	}
	const wantShape = "root(a(tool(gen)),b,tie2),orphan,cyc1(cyc2),self"
	if got := treeShape(resp.GetObservations()); got != wantShape {
		t.Errorf("tree\n got %s\nwant %s", got, wantShape)
	}
	tr := resp.GetTrace()
	wantUsage := &commonv1.Usage{Input: proto.Int64(101), Output: proto.Int64(20), Total: proto.Int64(121), // b: input 1, no total
		Details: map[string]int64{"cached_input": 50, "reasoning": 5}}
	if !proto.Equal(tr.GetUsage(), wantUsage) {
		t.Errorf("usage = %v, want %v", tr.GetUsage(), wantUsage)
	}
	wantCost := &commonv1.Cost{Input: proto.Float64(0.25), Total: proto.Float64(0.75)}
	if !proto.Equal(tr.GetCost(), wantCost) {
		t.Errorf("cost = %v, want %v", tr.GetCost(), wantCost)
	}
	if tr.GetObservationCount() != 10 {
		t.Errorf("observation_count = %d, want 10", tr.GetObservationCount())
	}
	if math.Abs(tr.GetLatencySeconds()-19.5) > 1e-9 { // first start at 10.5s (trace at 10s), last end at 30s
		t.Errorf("latency = %v, want 19.5", tr.GetLatencySeconds())
	}
	var scoreIDs []string
	for _, s := range resp.GetScores() {
		scoreIDs = append(scoreIDs, s.GetId())
		if s.GetId() == "s1" && (s.GetValue() != 0.9 || s.GetComment() != "revised" || s.GetTraceId() != "t1" ||
			s.GetDataType() != commonv1.ScoreDataType_SCORE_DATA_TYPE_NUMERIC || s.GetSource() != commonv1.ScoreSource_SCORE_SOURCE_API) {
			t.Errorf("score s1 not merged: %v", s)
		}
		if s.GetId() == "s2" && s.GetName() != "ok" {
			t.Errorf("score s2 leaked from another project: %v", s)
		}
	}
	if !slices.Equal(scoreIDs, []string{"s2", "s1"}) {
		t.Errorf("scores = %v, want [s2 s1] (oldest first)", scoreIDs)
	}

	// The generation, merged.
	var genNode *commonv1.Observation
	var walk func([]*queryv1.ObservationNode)
	walk = func(ns []*queryv1.ObservationNode) {
		for _, n := range ns {
			if n.GetObservation().GetId() == "gen" {
				genNode = n.GetObservation()
			}
			walk(n.GetChildren())
		}
	}
	walk(resp.GetObservations())
	if genNode.GetType() != commonv1.ObservationType_OBSERVATION_TYPE_GENERATION || genNode.GetModel() != "gpt" ||
		genNode.GetEndTime().AsTime().UnixNano() != int64(at(19)) || genNode.GetModelParameters()["temperature"] != "0.1" ||
		genNode.GetParentObservationId() != "tool" || genNode.GetUpdatedAt().AsTime().UnixNano() != int64(at(20)) {
		t.Errorf("generation not merged: %v", genNode)
	}
}

func TestGetTraceBeforeTraceRow(t *testing.T) {
	svc, conn := newService(t)
	chtest.InsertObservations(t, conn,
		chtest.Observation{ProjectID: proj, TraceID: "early", ID: "o1", Start: at(1), End: at(3), UsageInput: chtest.I(7), EventTS: at(1)},
		chtest.Observation{ProjectID: proj, TraceID: "early", ID: "o2", ParentID: "o1", Start: at(2), EventTS: at(4)},
	)
	resp, err := svc.GetTrace(ctx, proj, &queryv1.GetTraceRequest{TraceId: "early"})
	if err != nil {
		t.Fatal(err)
	}
	tr := resp.GetTrace()
	if tr.GetId() != "early" || tr.GetName() != "" || tr.GetTimestamp() != nil || tr.GetObservationCount() != 2 ||
		tr.GetUsage().GetInput() != 7 || tr.GetLatencySeconds() != 2 || tr.GetUpdatedAt().AsTime().UnixNano() != int64(at(4)) {
		t.Errorf("trace from observations only = %v", tr)
	}
	if got := treeShape(resp.GetObservations()); got != "o1(o2)" {
		t.Errorf("tree = %s", got)
	}
}

// TestGetTraceReadsEveryMonthOfItsRows: GetTrace and list pages read only
// the days their traces have rows on (chschema.TraceDates), so a trace
// whose rows span months (a long agent run, a late update) must come back
// whole, and one with no rows but scores is not found.
func TestGetTraceReadsEveryMonthOfItsRows(t *testing.T) {
	const day = 24 * 3600
	svc, conn := newService(t)
	// The trace is created in January, its observations are written in
	// February and March, and the trace is updated in April.
	chtest.InsertTraces(t, conn,
		chtest.Trace{ProjectID: proj, ID: "long", Timestamp: at(0), Name: "first", EventTS: at(0)},
		chtest.Trace{ProjectID: proj, ID: "long", Name: "renamed", EventTS: at(100 * day)},
		chtest.Trace{ProjectID: proj, ID: "other", Timestamp: at(50 * day), Name: "other", EventTS: at(50 * day)})
	chtest.InsertObservations(t, conn,
		chtest.Observation{ProjectID: proj, TraceID: "long", ID: "feb", Type: "SPAN", Start: at(40 * day), EventTS: at(40 * day)},
		chtest.Observation{ProjectID: proj, TraceID: "long", ID: "mar", Type: "SPAN", Start: at(70 * day), EventTS: at(70 * day)},
		chtest.Observation{ProjectID: proj, TraceID: "long", ID: "mar", Type: "SPAN", Name: "late", EventTS: at(71 * day)})
	chtest.InsertScores(t, conn, chtest.Score{ProjectID: proj, ID: "s", TraceID: "scored-only", Name: "q",
		DataType: "NUMERIC", Value: chtest.F(1), Timestamp: at(1), EventTS: at(1)})

	resp, err := svc.GetTrace(ctx, proj, &queryv1.GetTraceRequest{TraceId: "long"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, n := range resp.GetObservations() {
		ids = append(ids, n.GetObservation().GetId()+"/"+n.GetObservation().GetName())
	}
	if got := resp.GetTrace(); got.GetName() != "renamed" || got.GetTimestamp().AsTime().UnixNano() != int64(at(0)) ||
		!slices.Equal(ids, []string{"feb/", "mar/late"}) || got.GetObservationCount() != 2 {
		t.Errorf("trace over four months = %v with observations %v", got, ids)
	}
	// A list page reads its traces and their totals on the page's days.
	list, err := svc.ListTraces(ctx, proj, &queryv1.ListTracesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, tr := range list.GetTraces() {
		listed = append(listed, fmt.Sprintf("%s/%s/%d", tr.GetId(), tr.GetName(), tr.GetObservationCount()))
	}
	if !slices.Equal(listed, []string{"other/other/0", "long/renamed/2"}) {
		t.Errorf("listed %v", listed)
	}
	observations, err := svc.ListObservations(ctx, proj, &queryv1.ListObservationsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	listed = nil
	for _, o := range observations.GetObservations() {
		listed = append(listed, o.GetId()+"/"+o.GetName())
	}
	if !slices.Equal(listed, []string{"mar/late", "feb/"}) {
		t.Errorf("listed observations %v", listed)
	}
	if _, err := svc.GetTrace(ctx, proj, &queryv1.GetTraceRequest{TraceId: "scored-only"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetTrace of a trace with only scores = %v, want not found", err)
	}
}
