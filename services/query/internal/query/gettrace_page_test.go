package query_test

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/agenttrace/agenttrace/pkg/chschema"
	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
	"github.com/agenttrace/agenttrace/services/query/internal/chstore"
	"github.com/agenttrace/agenttrace/services/query/internal/chtest"

	. "github.com/agenttrace/agenttrace/services/query/internal/query"
)

// pagedTrace stores trace "paged" with n observations in two versions each:
// start times in groups of three (ties resolved by id), the first few with
// no start time at all, some moved earlier by their update (the page order
// follows the merged start), parents on other pages, and usage, cost and
// usage details split over both versions. Another trace and another project
// hold the same ids.
func pagedTrace(t *testing.T, n int) *Service {
	t.Helper()
	svc, conn := newService(t)
	chtest.InsertTraces(t, conn, chtest.Trace{ProjectID: proj, ID: "paged", Timestamp: at(0), Name: "agent", EventTS: at(0)})
	var rows []chtest.Observation
	for i := range n {
		id := fmt.Sprintf("o%03d", n-i) // ids against start order, so ties are not resolved by insertion order
		create := chtest.Observation{ProjectID: proj, TraceID: "paged", ID: id, Name: "step", Type: "SPAN",
			Start: at(float64(i/3) + 1), Input: fmt.Sprintf(`{"i":%d}`, i), UsageInput: chtest.I(int64(i)),
			CostInput: chtest.F(0.25), UsageDetails: map[string]int64{"cached": 1}, EventTS: at(1)}
		if i > 0 {
			create.ParentID = fmt.Sprintf("o%03d", n-i/2)
		}
		if i < 2 {
			create.Start = 0
		}
		update := chtest.Observation{ProjectID: proj, TraceID: "paged", ID: id, End: at(float64(i) + 2),
			UsageOutput: chtest.I(2), CostTotal: chtest.F(0.5), UsageDetails: map[string]int64{"cached": 3}, EventTS: at(2)}
		if i%7 == 5 {
			update.Start = at(0.5) // earlier than every create
		}
		rows = append(rows, update, create)
	}
	rows = append(rows,
		chtest.Observation{ProjectID: proj, TraceID: "elsewhere", ID: "o001", Start: at(0.1), UsageInput: chtest.I(1000), EventTS: at(3)},
		chtest.Observation{ProjectID: other, TraceID: "paged", ID: "o001", Start: at(0.1), UsageInput: chtest.I(1000), EventTS: at(3)},
	)
	chtest.InsertObservations(t, conn, rows...)
	chtest.InsertScores(t, conn, chtest.Score{ProjectID: proj, ID: "s1", TraceID: "paged", Name: "q", DataType: "NUMERIC", Value: chtest.F(1), EventTS: at(5)})
	return svc
}

// flatten lists a page's observations depth first and checks that the page
// is a forest of its own: children point at their node, and a root's parent
// is not on the page.
func flatten(t *testing.T, roots []*queryv1.ObservationNode) []*commonv1.Observation {
	t.Helper()
	var out []*commonv1.Observation
	var walk func(parent string, nodes []*queryv1.ObservationNode)
	walk = func(parent string, nodes []*queryv1.ObservationNode) {
		for _, n := range nodes {
			o := n.GetObservation()
			if parent != "" && o.GetParentObservationId() != parent {
				t.Errorf("%s is under %s but its parent is %s", o.GetId(), parent, o.GetParentObservationId())
			}
			out = append(out, o)
			walk(o.GetId(), n.GetChildren())
		}
	}
	walk("", roots)
	for _, r := range roots {
		if p := r.GetObservation().GetParentObservationId(); p != "" && slices.ContainsFunc(out, func(o *commonv1.Observation) bool { return o.GetId() == p }) {
			t.Errorf("root %s has its parent %s on the same page", r.GetObservation().GetId(), p)
		}
	}
	return out
}

func byStartThenID(a, b *commonv1.Observation) int {
	return cmp.Or(cmp.Compare(tsNanos(a.GetStartTime()), tsNanos(b.GetStartTime())), cmp.Compare(a.GetId(), b.GetId()))
}

// referenceTotals sums merged observations in Go: what TraceStats must
// compute in ClickHouse over the whole trace.
func referenceTotals(obs []*commonv1.Observation) (*commonv1.Usage, *commonv1.Cost, float64) {
	var (
		u             *commonv1.Usage
		c             *commonv1.Cost
		minStart, end uint64
	)
	for _, o := range obs {
		u, c = addUsage(u, o.GetUsage()), addCost(c, o.GetCost())
		if s := tsNanos(o.GetStartTime()); s != 0 && (minStart == 0 || s < minStart) {
			minStart = s
		}
		end = max(end, tsNanos(o.GetEndTime()))
	}
	return u, c, float64(end-minStart) / 1e9
}

func TestGetTraceObservationPages(t *testing.T) {
	const n = 40
	svc := pagedTrace(t, n)
	whole, err := svc.GetTrace(ctx, proj, &queryv1.GetTraceRequest{TraceId: "paged"})
	if err != nil {
		t.Fatal(err)
	}
	if whole.GetNextObservationsPageToken() != "" {
		t.Fatal("a trace under the cap read whole has a next token")
	}
	all := flatten(t, whole.GetObservations())
	slices.SortFunc(all, byStartThenID)
	if len(all) != n || whole.GetTrace().GetObservationCount() != n {
		t.Fatalf("unpaged: %d observations, count %d; want %d", len(all), whole.GetTrace().GetObservationCount(), n)
	}
	wantUsage, wantCost, wantLatency := referenceTotals(all)
	if !proto.Equal(whole.GetTrace().GetUsage(), wantUsage) || !proto.Equal(whole.GetTrace().GetCost(), wantCost) ||
		math.Abs(whole.GetTrace().GetLatencySeconds()-wantLatency) > 1e-9 {
		t.Fatalf("unpaged totals %v %v %v, want %v %v %v", whole.GetTrace().GetUsage(), whole.GetTrace().GetCost(),
			whole.GetTrace().GetLatencySeconds(), wantUsage, wantCost, wantLatency)
	}
	if wantUsage.GetDetails()["cached"] != 3*n {
		t.Fatalf("usage details %v: not the newest version per observation", wantUsage.GetDetails())
	}

	for _, size := range []int32{1, 3, 7, n - 1, n, n + 1, MaxObservationsPageSize} {
		t.Run(fmt.Sprint("size ", size), func(t *testing.T) {
			var got []*commonv1.Observation
			token, pages := "", 0
			for {
				resp, err := svc.GetTrace(ctx, proj, &queryv1.GetTraceRequest{TraceId: "paged", ObservationsPageSize: size, ObservationsPageToken: token})
				if err != nil {
					t.Fatalf("page %d: %v", pages, err)
				}
				pages++
				page := flatten(t, resp.GetObservations())
				if len(page) == 0 || len(page) > int(size) {
					t.Fatalf("page %d holds %d observations", pages, len(page))
				}
				slices.SortFunc(page, byStartThenID)
				got = append(got, page...)
				if !proto.Equal(resp.GetTrace(), whole.GetTrace()) {
					t.Fatalf("page %d trace\n got %v\nwant %v", pages, resp.GetTrace(), whole.GetTrace())
				}
				if len(resp.GetScores()) != 1 {
					t.Fatalf("page %d scores %v", pages, resp.GetScores())
				}
				if token = resp.GetNextObservationsPageToken(); token == "" {
					break
				}
				if pages > n {
					t.Fatalf("more than %d pages: the walk does not advance", n)
				}
			}
			if want := (n + int(size) - 1) / int(size); pages != want {
				t.Errorf("%d pages, want %d", pages, want)
			}
			if len(got) != len(all) {
				t.Fatalf("walked %d observations, want %d", len(got), len(all))
			}
			for i := range all {
				if !proto.Equal(got[i], all[i]) {
					t.Fatalf("observation %d of the walk\n got %v\nwant %v", i, got[i], all[i])
				}
			}
		})
	}
}

func TestGetTraceObservationsCap(t *testing.T) {
	svc, conn := newService(t)
	const n = MaxObservationsPageSize + 1
	rows := make([]chtest.Observation, n)
	for i := range rows {
		rows[i] = chtest.Observation{ProjectID: proj, TraceID: "huge", ID: fmt.Sprintf("o%05d", i), Start: at(1), EventTS: at(1)}
	}
	chtest.InsertObservations(t, conn, rows...)
	first, err := svc.GetTrace(ctx, proj, &queryv1.GetTraceRequest{TraceId: "huge"})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(first.GetObservations()); got != MaxObservationsPageSize || first.GetNextObservationsPageToken() == "" {
		t.Fatalf("page size 0 over the cap: %d observations, token %q", got, first.GetNextObservationsPageToken())
	}
	if first.GetTrace().GetObservationCount() != n {
		t.Errorf("observation_count = %d, want all %d", first.GetTrace().GetObservationCount(), n)
	}
	rest, err := svc.GetTrace(ctx, proj, &queryv1.GetTraceRequest{TraceId: "huge", ObservationsPageToken: first.GetNextObservationsPageToken()})
	if err != nil {
		t.Fatal(err)
	}
	if len(rest.GetObservations()) != 1 || rest.GetObservations()[0].GetObservation().GetId() != fmt.Sprintf("o%05d", n-1) ||
		rest.GetNextObservationsPageToken() != "" {
		t.Fatalf("second page = %d observations, token %q", len(rest.GetObservations()), rest.GetNextObservationsPageToken())
	}
}

func TestGetTraceObservationTokenBoundToTrace(t *testing.T) {
	svc := pagedTrace(t, 10)
	first, err := svc.GetTrace(ctx, proj, &queryv1.GetTraceRequest{TraceId: "paged", ObservationsPageSize: 4})
	if err != nil || first.GetNextObservationsPageToken() == "" {
		t.Fatalf("first page: %v, token %q", err, first.GetNextObservationsPageToken())
	}
	token := first.GetNextObservationsPageToken()
	_, err = svc.GetTrace(ctx, proj, &queryv1.GetTraceRequest{TraceId: "elsewhere", ObservationsPageSize: 4, ObservationsPageToken: token})
	if fieldOf(t, err) != "observations_page_token" {
		t.Errorf("token of another trace accepted")
	}
	// The page size may change between pages.
	if _, err := svc.GetTrace(ctx, proj, &queryv1.GetTraceRequest{TraceId: "paged", ObservationsPageSize: 2, ObservationsPageToken: token}); err != nil {
		t.Errorf("token with another page size: %v", err)
	}
	// A valid token in a project without the trace finds nothing there.
	if _, err := svc.GetTrace(ctx, other, &queryv1.GetTraceRequest{TraceId: "elsewhere", ObservationsPageToken: token}); err == nil {
		t.Errorf("token of project %s read in %s", proj, other)
	}
}

func TestGetTraceWithoutObservationsPages(t *testing.T) {
	svc, conn := newService(t)
	chtest.InsertTraces(t, conn, chtest.Trace{ProjectID: proj, ID: "bare", Name: "n", EventTS: at(1)})
	resp, err := svc.GetTrace(ctx, proj, &queryv1.GetTraceRequest{TraceId: "bare", ObservationsPageSize: 5})
	if err != nil || len(resp.GetObservations()) != 0 || resp.GetNextObservationsPageToken() != "" || resp.GetTrace().GetName() != "n" {
		t.Fatalf("trace without observations = %v, %v", resp, err)
	}
}

// TestGetTraceStoreErrors: every read GetTrace makes fails it, and the
// failure is neither NotFound nor a field error.
func TestGetTraceStoreErrors(t *testing.T) {
	for _, table := range []string{chschema.Traces, chschema.Observations, chschema.Scores} {
		t.Run(table, func(t *testing.T) {
			svc, conn := newService(t)
			chtest.InsertTraces(t, conn, chtest.Trace{ProjectID: proj, ID: "t", Name: "n", EventTS: at(1)})
			chtest.InsertObservations(t, conn, chtest.Observation{ProjectID: proj, TraceID: "t", ID: "o", EventTS: at(1)})
			if err := conn.Exec(ctx, "DROP TABLE "+table); err != nil {
				t.Fatal(err)
			}
			_, err := svc.GetTrace(ctx, proj, &queryv1.GetTraceRequest{TraceId: "t"})
			if !isStoreError(err) {
				t.Fatalf("GetTrace without %s = %v, want a store error", table, err)
			}
		})
	}
}

var _ Store = (*chstore.Store)(nil)

// TestGetTraceTotalsFromThePage: a trace read whole has its totals derived
// from its page in Go, one read a page at a time has them from the store's
// totals query; both must agree, on every shape of totals: usage details
// whose keys come from different versions, totals only one version sets,
// costs without a total, unset start times, and a trace without a trace
// row (its updated time is its observations' newest version).
func TestGetTraceTotalsFromThePage(t *testing.T) {
	svc, conn := newService(t)
	chtest.InsertTraces(t, conn, chtest.Trace{ProjectID: proj, ID: "full", Name: "agent", Timestamp: at(0), EventTS: at(0)})
	obs := func(trace, id string, ts float64) chtest.Observation {
		return chtest.Observation{ProjectID: proj, TraceID: trace, ID: id, Type: "GENERATION", EventTS: at(ts)}
	}
	a, aUpd := obs("full", "a", 1), obs("full", "a", 4)
	a.Start, a.UsageInput, a.UsageDetails, a.CostInput = at(1), chtest.I(100), map[string]int64{"cached": 5, "audio": 1}, chtest.F(0.125)
	aUpd.End, aUpd.UsageOutput, aUpd.UsageDetails, aUpd.CostOutput = at(9), chtest.I(20), map[string]int64{"cached": 7}, chtest.F(0.5)
	b := obs("full", "b", 2) // a sent total, a cost total alone
	b.Start, b.End, b.UsageInput, b.UsageTotal, b.CostTotal = at(0.5), at(3), chtest.I(1), chtest.I(50), chtest.F(2)
	c := obs("full", "c", 3) // details only, no start
	c.End, c.UsageDetails = at(12), map[string]int64{"reasoning": 40}
	d := obs("full", "d", 6) // nothing but a name
	d.Name = "step"
	orphan, orphanUpd := obs("orphan", "x", 1), obs("orphan", "x", 8) // no trace row
	orphan.Start, orphan.UsageOutput = at(2), chtest.I(3)
	orphanUpd.End, orphanUpd.CostInput = at(5), chtest.F(1)
	y := obs("orphan", "y", 7)
	y.Start, y.UsageInput = at(3), chtest.I(4)
	chtest.InsertObservations(t, conn, aUpd, a, b, c, d, orphanUpd, orphan, y)

	for _, id := range []string{"full", "orphan"} {
		whole, err := svc.GetTrace(ctx, proj, &queryv1.GetTraceRequest{TraceId: id})
		if err != nil {
			t.Fatal(err)
		}
		if whole.GetNextObservationsPageToken() != "" {
			t.Fatalf("%s: not read whole", id)
		}
		// The first page of one is not the whole trace, so its totals are
		// the store's; so are a later page's.
		first, err := svc.GetTrace(ctx, proj, &queryv1.GetTraceRequest{TraceId: id, ObservationsPageSize: 1})
		if err != nil {
			t.Fatal(err)
		}
		second, err := svc.GetTrace(ctx, proj, &queryv1.GetTraceRequest{TraceId: id, ObservationsPageSize: 1,
			ObservationsPageToken: first.GetNextObservationsPageToken()})
		if err != nil {
			t.Fatal(err)
		}
		for i, page := range []*queryv1.GetTraceResponse{first, second} {
			if !proto.Equal(whole.GetTrace(), page.GetTrace()) {
				t.Errorf("%s: totals of the whole trace (from its page) and of page %d (from the store) differ\nwhole %v\n page %v",
					id, i+1, whole.GetTrace(), page.GetTrace())
			}
		}
		if whole.GetTrace().GetUsage() == nil || whole.GetTrace().GetCost() == nil || whole.GetTrace().GetUpdatedAt() == nil {
			t.Errorf("%s: totals missing: %v", id, whole.GetTrace())
		}
	}
}
