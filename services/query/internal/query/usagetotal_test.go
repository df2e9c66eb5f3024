package query_test

import (
	"testing"

	"google.golang.org/protobuf/proto"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
	"github.com/agenttrace/agenttrace/services/query/internal/chtest"
)

// TestUsageTotalDefaultsOnRead: an observation without a total counts
// input + output, decided on the merged versions: the create carries input
// only, an update adds output later, and neither alone knows the sum.
func TestUsageTotalDefaultsOnRead(t *testing.T) {
	svc, conn := newService(t)
	chtest.InsertTraces(t, conn,
		chtest.Trace{ProjectID: proj, ID: "t1", SessionID: "s1", Timestamp: at(1), EventTS: at(1)})
	gen := func(id string, ts float64) chtest.Observation {
		return chtest.Observation{ProjectID: proj, TraceID: "t1", ID: id, Type: "GENERATION", Start: at(ts), EventTS: at(ts)}
	}
	split, splitUpd := gen("split", 1), chtest.Observation{ProjectID: proj, TraceID: "t1", ID: "split", EventTS: at(2)}
	split.UsageInput, splitUpd.UsageOutput = chtest.I(2000), chtest.I(300)
	sent := gen("sent", 3) // a total that was sent wins over the sum
	sent.UsageInput, sent.UsageOutput, sent.UsageTotal = chtest.I(10), chtest.I(5), chtest.I(20)
	lateTotal, lateTotalUpd := gen("late-total", 4), chtest.Observation{ProjectID: proj, TraceID: "t1", ID: "late-total", UsageTotal: chtest.I(7), EventTS: at(5)}
	lateTotal.UsageInput, lateTotal.UsageOutput = chtest.I(3), chtest.I(3)
	inputOnly := gen("input-only", 6)
	inputOnly.UsageInput = chtest.I(40)
	detailsOnly := gen("details-only", 7) // details are breakdowns: never added
	detailsOnly.UsageDetails = map[string]int64{"cached_input": 99}
	chtest.InsertObservations(t, conn, splitUpd, split, sent, lateTotalUpd, lateTotal, inputOnly, detailsOnly, gen("none", 8))

	resp, err := svc.GetTrace(ctx, proj, &queryv1.GetTraceRequest{TraceId: "t1"})
	if err != nil {
		t.Fatal(err)
	}
	wantObs := map[string]*commonv1.Usage{
		"split":        {Input: proto.Int64(2000), Output: proto.Int64(300), Total: proto.Int64(2300)},
		"sent":         {Input: proto.Int64(10), Output: proto.Int64(5), Total: proto.Int64(20)},
		"late-total":   {Input: proto.Int64(3), Output: proto.Int64(3), Total: proto.Int64(7)},
		"input-only":   {Input: proto.Int64(40), Total: proto.Int64(40)},
		"details-only": {Details: map[string]int64{"cached_input": 99}},
		"none":         nil,
	}
	for _, n := range resp.GetObservations() {
		o := n.GetObservation()
		if want, ok := wantObs[o.GetId()]; !ok || !proto.Equal(o.GetUsage(), want) {
			t.Errorf("observation %s usage = %v, want %v", o.GetId(), o.GetUsage(), want)
		}
	}
	wantTrace := &commonv1.Usage{Input: proto.Int64(2053), Output: proto.Int64(308), Total: proto.Int64(2300 + 20 + 7 + 40),
		Details: map[string]int64{"cached_input": 99}}
	if got := resp.GetTrace().GetUsage(); !proto.Equal(got, wantTrace) {
		t.Errorf("trace usage = %v, want %v", got, wantTrace)
	}

	list, err := svc.ListTraces(ctx, proj, &queryv1.ListTracesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.GetTraces()) != 1 || list.GetTraces()[0].GetUsage().GetTotal() != wantTrace.GetTotal() {
		t.Errorf("listed trace usage = %v, want total %d", list.GetTraces(), wantTrace.GetTotal())
	}
	sess, err := svc.GetSession(ctx, proj, &queryv1.GetSessionRequest{SessionId: "s1"})
	if err != nil {
		t.Fatal(err)
	}
	if got := sess.GetSession().GetUsage().GetTotal(); got != wantTrace.GetTotal() {
		t.Errorf("session total = %d, want %d", got, wantTrace.GetTotal())
	}
}
