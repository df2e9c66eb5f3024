package query_test

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
	"github.com/agenttrace/agenttrace/services/query/internal/chtest"
	"github.com/agenttrace/agenttrace/services/query/internal/query"
)

func ts(s float64) *timestamppb.Timestamp { return fromNanos(at(s)) }

func traceIDs(ts []*commonv1.Trace) []string {
	var ids []string
	for _, t := range ts {
		ids = append(ids, t.GetId())
	}
	return ids
}

func TestListTracesFilters(t *testing.T) {
	svc, conn := newService(t)
	chtest.InsertTraces(t, conn,
		chtest.Trace{ProjectID: proj, ID: "a", Timestamp: at(10), Name: "chat", UserID: "u1", SessionID: "s1", Tags: []string{"x"}, Environment: "prod", Release: "1", EventTS: at(10)},
		chtest.Trace{ProjectID: proj, ID: "a", Tags: []string{"y"}, EventTS: at(11)}, // tags split over versions
		chtest.Trace{ProjectID: proj, ID: "b", Timestamp: at(20), Name: "chat", UserID: "u2", Environment: "dev", EventTS: at(20)},
		chtest.Trace{ProjectID: proj, ID: "b", Name: "renamed", EventTS: at(21)}, // the merged name is no longer chat
		chtest.Trace{ProjectID: proj, ID: "c", Timestamp: at(30), Name: "chat", Tags: []string{"x"}, Release: "2", EventTS: at(30)},
		chtest.Trace{ProjectID: proj, ID: "c", Timestamp: at(5), EventTS: at(31)}, // moved earlier by an update
		chtest.Trace{ProjectID: proj, ID: "d", UserID: "u1", EventTS: at(40)},     // no timestamp at all
		chtest.Trace{ProjectID: other, ID: "e", Timestamp: at(10), Name: "chat", UserID: "u1", Tags: []string{"x", "y"}, EventTS: at(10)},
	)
	tests := []struct {
		name string
		req  *queryv1.ListTracesRequest
		want []string
	}{
		{"all, newest first, unset timestamp last", &queryv1.ListTracesRequest{}, []string{"b", "a", "c", "d"}},
		{"from inclusive", &queryv1.ListTracesRequest{FromTime: ts(10)}, []string{"b", "a"}},
		{"to exclusive", &queryv1.ListTracesRequest{ToTime: ts(20)}, []string{"a", "c"}},
		{"range on merged timestamp", &queryv1.ListTracesRequest{FromTime: ts(1), ToTime: ts(6)}, []string{"c"}},
		{"old timestamp of an updated trace does not match", &queryv1.ListTracesRequest{FromTime: ts(25)}, nil},
		{"merged name", &queryv1.ListTracesRequest{Name: "chat"}, []string{"a", "c"}},
		{"new name", &queryv1.ListTracesRequest{Name: "renamed"}, []string{"b"}},
		{"user", &queryv1.ListTracesRequest{UserId: "u1"}, []string{"a", "d"}},
		{"session", &queryv1.ListTracesRequest{SessionId: "s1"}, []string{"a"}},
		{"one tag", &queryv1.ListTracesRequest{Tags: []string{"x"}}, []string{"a", "c"}},
		{"all tags across versions", &queryv1.ListTracesRequest{Tags: []string{"y", "x"}}, []string{"a"}},
		{"environment", &queryv1.ListTracesRequest{Environment: "dev"}, []string{"b"}},
		{"release", &queryv1.ListTracesRequest{Release: "2"}, []string{"c"}},
		{"combined", &queryv1.ListTracesRequest{Name: "chat", UserId: "u1", FromTime: ts(0)}, []string{"a"}},
		{"no match", &queryv1.ListTracesRequest{UserId: "nobody"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := svc.ListTraces(ctx, proj, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if got := traceIDs(resp.GetTraces()); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			if resp.GetNextPageToken() != "" {
				t.Errorf("unexpected next page token")
			}
		})
	}
}

// TestListTracesPagination walks every page, with timestamp ties and update
// rows without a timestamp, and checks the walk sees each trace once, in order.
func TestListTracesPagination(t *testing.T) {
	svc, conn := newService(t)
	var rows []chtest.Trace
	const n = 23
	for i := range n {
		id := fmt.Sprintf("t%02d", i)
		rows = append(rows,
			chtest.Trace{ProjectID: proj, ID: id, Timestamp: at(float64(i / 4)), Name: "n", EventTS: at(float64(i))},
			chtest.Trace{ProjectID: proj, ID: id, Output: `1`, EventTS: at(float64(i) + 100)},
			chtest.Trace{ProjectID: other, ID: id, Timestamp: at(float64(i / 4)), Name: "n", EventTS: at(float64(i))},
		)
	}
	chtest.InsertTraces(t, conn, rows...)
	for _, size := range []int32{1, 5, 23, 50} {
		t.Run(fmt.Sprint("page size ", size), func(t *testing.T) {
			req := &queryv1.ListTracesRequest{PageSize: size, Name: "n"}
			var got []*commonv1.Trace
			for pages := 0; ; pages++ {
				if pages > n {
					t.Fatal("pagination does not end")
				}
				resp, err := svc.ListTraces(ctx, proj, req)
				if err != nil {
					t.Fatal(err)
				}
				if len(resp.GetTraces()) > int(size) {
					t.Fatalf("page of %d > %d", len(resp.GetTraces()), size)
				}
				got = append(got, resp.GetTraces()...)
				if resp.GetNextPageToken() == "" {
					break
				}
				req.PageToken = resp.GetNextPageToken()
			}
			ids := traceIDs(got)
			if len(ids) != n {
				t.Fatalf("walked %d traces, want %d: %v", len(ids), n, ids)
			}
			want := slices.Clone(ids)
			num := func(id string) int {
				var n int
				if _, err := fmt.Sscanf(id, "t%d", &n); err != nil {
					t.Fatalf("trace id %q: %v", id, err)
				}
				return n
			}
			slices.SortFunc(want, func(a, b string) int { // timestamp desc, id desc
				ia, ib := num(a), num(b)
				if ia/4 != ib/4 {
					return ib/4 - ia/4
				}
				return ib - ia
			})
			if !slices.Equal(ids, want) {
				t.Errorf("order\n got %v\nwant %v", ids, want)
			}
			for _, tr := range got {
				if tr.GetOutput().GetNumberValue() != 1 {
					t.Errorf("%s: update row not merged: %v", tr.GetId(), tr)
				}
			}
		})
	}
}

// TestListTracesDerived checks that the totals computed in ClickHouse for a
// page equal those GetTrace derives from the merged observations.
func TestListTracesDerived(t *testing.T) {
	svc, conn := newService(t)
	chtest.InsertTraces(t, conn,
		chtest.Trace{ProjectID: proj, ID: "t1", Timestamp: at(1), EventTS: at(1)},
		chtest.Trace{ProjectID: proj, ID: "t2", Timestamp: at(2), EventTS: at(2)},
	)
	var obs []chtest.Observation
	for i := range 30 {
		o := chtest.Observation{ProjectID: proj, TraceID: "t1", ID: fmt.Sprint("o", i), Start: at(1 + float64(i)/10), EventTS: at(1)}
		if i%3 == 0 {
			o.UsageInput, o.CostTotal = chtest.I(int64(i)), chtest.F(0.1*float64(i))
			o.UsageDetails = map[string]int64{"cached": int64(i)}
		}
		upd := chtest.Observation{ProjectID: proj, TraceID: "t1", ID: o.ID, End: at(5 + float64(i)/10), EventTS: at(2)}
		if i%5 == 0 {
			upd.UsageOutput, upd.UsageDetails = chtest.I(3), map[string]int64{"cached": 1000, "audio": 1}
		}
		// Levels and models, some changed by the update: 6 ERROR (every
		// fourth but 0 and 28), 5 WARNING (every seventh); two models.
		if i%4 == 0 {
			o.Level = "ERROR"
		}
		if i%7 == 0 {
			upd.Level = "WARNING"
		}
		if i%3 == 0 {
			o.Model = "gpt-4o"
		}
		if i%10 == 0 {
			upd.Model = "claude-3"
		}
		obs = append(obs, o, upd, o) // o twice: a redelivery
	}
	obs = append(obs, chtest.Observation{ProjectID: other, TraceID: "t1", ID: "o1", UsageInput: chtest.I(1e6), EventTS: at(3)})
	chtest.InsertObservations(t, conn, obs...)

	list, err := svc.ListTraces(ctx, proj, &queryv1.ListTracesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if got := traceIDs(list.GetTraces()); !slices.Equal(got, []string{"t2", "t1"}) {
		t.Fatalf("traces = %v", got)
	}
	if t2 := list.GetTraces()[0]; t2.GetObservationCount() != 0 || t2.GetUsage() != nil || t2.GetLatencySeconds() != 0 {
		t.Errorf("trace without observations has derived fields: %v", t2)
	}
	fromList := list.GetTraces()[1]
	got, err := svc.GetTrace(ctx, proj, &queryv1.GetTraceRequest{TraceId: "t1"})
	if err != nil {
		t.Fatal(err)
	}
	want := got.GetTrace()
	if fromList.GetObservationCount() != 30 || want.GetObservationCount() != 30 {
		t.Errorf("counts: list %d, get %d, want 30", fromList.GetObservationCount(), want.GetObservationCount())
	}
	if !proto.Equal(fromList.GetUsage(), want.GetUsage()) {
		t.Errorf("usage: list %v, get %v", fromList.GetUsage(), want.GetUsage())
	}
	if math.Abs(fromList.GetCost().GetTotal()-want.GetCost().GetTotal()) > 1e-9 || want.GetCost().GetTotal() == 0 {
		t.Errorf("cost: list %v, get %v", fromList.GetCost(), want.GetCost())
	}
	if fromList.GetLatencySeconds() != want.GetLatencySeconds() || math.Abs(want.GetLatencySeconds()-6.9) > 1e-9 {
		t.Errorf("latency: list %v, get %v, want 6.9", fromList.GetLatencySeconds(), want.GetLatencySeconds())
	}
	if want.GetUsage().GetDetails()["cached"] == 0 || want.GetUsage().GetDetails()["audio"] != 6 {
		t.Errorf("usage details = %v", want.GetUsage().GetDetails())
	}
	for _, tr := range []*commonv1.Trace{fromList, want} {
		if tr.GetErrorCount() != 6 || tr.GetWarningCount() != 5 || !slices.Equal(tr.GetModels(), []string{"claude-3", "gpt-4o"}) {
			t.Errorf("levels and models: %d errors, %d warnings, models %v; want 6, 5, [claude-3 gpt-4o]",
				tr.GetErrorCount(), tr.GetWarningCount(), tr.GetModels())
		}
	}
}

// A trace's totals name at most MaxTraceModels models, sorted, each once.
func TestTraceModelsAreBounded(t *testing.T) {
	var obs []*commonv1.Observation
	for i := range 2 * query.MaxTraceModels {
		m := fmt.Sprintf("model-%02d", 2*query.MaxTraceModels-1-i)
		obs = append(obs, &commonv1.Observation{Id: fmt.Sprint("a", i), Model: m}, &commonv1.Observation{Id: fmt.Sprint("b", i), Model: m})
	}
	obs = append(obs, &commonv1.Observation{Id: "none"})
	st := query.StatsOf(obs)
	if len(st.Models) != query.MaxTraceModels || !slices.IsSorted(st.Models) || len(slices.Compact(slices.Clone(st.Models))) != query.MaxTraceModels {
		t.Errorf("models = %v, want %d distinct, sorted", st.Models, query.MaxTraceModels)
	}
}

// A listed trace carries a summary of its scores per name (its own and its
// observations', updates merged), the same as GetTrace derives from the
// scores it returns; a trace without scores has none.
func TestListTracesScoreSummaries(t *testing.T) {
	svc, conn := newService(t)
	chtest.InsertTraces(t, conn,
		chtest.Trace{ProjectID: proj, ID: "t1", Timestamp: at(1), EventTS: at(1)},
		chtest.Trace{ProjectID: proj, ID: "t2", Timestamp: at(2), EventTS: at(2)},
	)
	score := func(id, name, typ string, v *float64, category string, ts float64) chtest.Score {
		return chtest.Score{ProjectID: proj, ID: id, TraceID: "t1", Name: name, DataType: typ, Value: v, StringValue: category,
			Timestamp: at(ts), EventTS: at(ts)}
	}
	onObservation := score("s3", "quality", "NUMERIC", chtest.F(0.2), "", 3)
	onObservation.ObservationID = "o1"
	chtest.InsertScores(t, conn,
		score("s1", "quality", "NUMERIC", chtest.F(0.5), "", 1),
		score("s2", "quality", "NUMERIC", chtest.F(1), "", 2),
		onObservation,
		score("s4", "correct", "BOOLEAN", chtest.F(1), "", 1),
		score("s5", "correct", "BOOLEAN", chtest.F(0), "", 2),
		score("s6", "tone", "CATEGORICAL", nil, "neutral", 1),
		score("s7", "tone", "CATEGORICAL", nil, "friendly", 2),
		// An update without the trace id: s2 is now 0.8.
		chtest.Score{ProjectID: proj, ID: "s2", Value: chtest.F(0.8), EventTS: at(5)},
		// Another project's score of a trace with the same id.
		chtest.Score{ProjectID: other, ID: "x", TraceID: "t1", Name: "quality", DataType: "NUMERIC", Value: chtest.F(100), EventTS: at(1)},
	)
	want := []*commonv1.ScoreSummary{
		{Name: "correct", Count: 2, Average: proto.Float64(0.5)},
		{Name: "quality", Count: 3, Average: proto.Float64((0.5 + 0.8 + 0.2) / 3)},
		{Name: "tone", Count: 2, LatestCategory: "friendly"},
	}
	list, err := svc.ListTraces(ctx, proj, &queryv1.ListTracesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if got := traceIDs(list.GetTraces()); !slices.Equal(got, []string{"t2", "t1"}) {
		t.Fatalf("traces = %v", got)
	}
	if s := list.GetTraces()[0].GetScoreSummaries(); len(s) != 0 {
		t.Errorf("a trace without scores has summaries %v", s)
	}
	got, err := svc.GetTrace(ctx, proj, &queryv1.GetTraceRequest{TraceId: "t1"})
	if err != nil {
		t.Fatal(err)
	}
	for where, summaries := range map[string][]*commonv1.ScoreSummary{
		"ListTraces": list.GetTraces()[1].GetScoreSummaries(), "GetTrace": got.GetTrace().GetScoreSummaries(),
	} {
		if len(summaries) != len(want) {
			t.Errorf("%s: summaries %v, want %v", where, summaries, want)
			continue
		}
		for i := range want {
			g, w := summaries[i], want[i]
			if g.GetName() != w.GetName() || g.GetCount() != w.GetCount() || g.GetLatestCategory() != w.GetLatestCategory() ||
				(g.Average == nil) != (w.Average == nil) || math.Abs(g.GetAverage()-w.GetAverage()) > 1e-9 {
				t.Errorf("%s: summary %d = %v, want %v", where, i, g, w)
			}
		}
	}
}
