package query_test

import (
	"fmt"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
	"github.com/agenttrace/agenttrace/services/query/internal/chtest"
)

// GetSession pages its traces oldest first by their merged timestamp;
// every page carries the whole session's totals, the session's own scores
// and the scores of that page's traces only.
func TestGetSessionPages(t *testing.T) {
	svc, conn := newService(t)
	var traces []chtest.Trace
	var scores []chtest.Score
	var want []string
	for i := range 7 {
		id := fmt.Sprintf("t%d", i)
		traces = append(traces, chtest.Trace{ProjectID: proj, ID: id, SessionID: "s", UserID: "u", Timestamp: at(float64(10 + i)), EventTS: at(1)})
		scores = append(scores, chtest.Score{ProjectID: proj, ID: "sc-" + id, TraceID: id, Name: "q", Timestamp: at(20), EventTS: at(20)})
		want = append(want, id)
	}
	traces = append(traces,
		// A later version moves t0 to the end (its timestamp) and one takes
		// t6 out of the session: pages follow the merged values.
		chtest.Trace{ProjectID: proj, ID: "t0", Timestamp: at(30), EventTS: at(2)},
		chtest.Trace{ProjectID: proj, ID: "t6", SessionID: "elsewhere", EventTS: at(2)},
		chtest.Trace{ProjectID: proj, ID: "x", SessionID: "elsewhere", Timestamp: at(11), EventTS: at(1)},
		chtest.Trace{ProjectID: other, ID: "t9", SessionID: "s", Timestamp: at(12), EventTS: at(1)},
	)
	want = append(want[1:6], "t0")
	scores = append(scores, chtest.Score{ProjectID: proj, ID: "own", SessionID: "s", Name: "session", Timestamp: at(25), EventTS: at(25)})
	chtest.InsertTraces(t, conn, traces...)
	chtest.InsertScores(t, conn, scores...)
	chtest.InsertObservations(t, conn,
		chtest.Observation{ProjectID: proj, TraceID: "t3", ID: "o", UsageInput: chtest.I(7), EventTS: at(1)},
		chtest.Observation{ProjectID: proj, TraceID: "t6", ID: "o", UsageInput: chtest.I(1000), EventTS: at(1)},
		chtest.Observation{ProjectID: proj, TraceID: "t4", ID: "a", Start: at(14), UsageOutput: chtest.I(3),
			UsageDetails: map[string]int64{"cached": 2}, CostTotal: chtest.F(0.5), EventTS: at(1)},
		chtest.Observation{ProjectID: proj, TraceID: "t4", ID: "b", Start: at(15), End: at(19), CostInput: chtest.F(0.25), EventTS: at(1)},
		chtest.Observation{ProjectID: proj, TraceID: "t4", ID: "a", End: at(16), UsageDetails: map[string]int64{"cached": 5}, EventTS: at(3)},
	)

	for _, size := range []int32{1, 2, 4, 6, 100} {
		t.Run(fmt.Sprint("page size ", size), func(t *testing.T) {
			req := &queryv1.GetSessionRequest{SessionId: "s", PageSize: size}
			var got []string
			for pages := 1; ; pages++ {
				resp, err := svc.GetSession(ctx, proj, req)
				if err != nil {
					t.Fatal(err)
				}
				sess := resp.GetSession()
				if sess.GetTraceCount() != 6 || sess.GetUsage().GetInput() != 7 || !slices.Equal(sess.GetUserIds(), []string{"u"}) ||
					sess.GetFirstSeen().AsTime().UnixNano() != int64(at(11)) || sess.GetLastSeen().AsTime().UnixNano() != int64(at(30)) {
					t.Errorf("page %d: session %v", pages, sess)
				}
				if len(resp.GetTraces()) > int(size) {
					t.Fatalf("page %d holds %d traces, page size %d", pages, len(resp.GetTraces()), size)
				}
				var wantScores []string
				for _, tr := range resp.GetTraces() {
					// A page's trace carries the fields GetTrace derives.
					alone, err := svc.GetTrace(ctx, proj, &queryv1.GetTraceRequest{TraceId: tr.GetId()})
					if err != nil {
						t.Fatal(err)
					}
					if !proto.Equal(tr, alone.GetTrace()) {
						t.Errorf("page %d: trace %s\n got %v\nwant %v (GetTrace)", pages, tr.GetId(), tr, alone.GetTrace())
					}
					got = append(got, tr.GetId())
					wantScores = append(wantScores, "sc-"+tr.GetId())
				}
				slices.Sort(wantScores)                // all at(20): by id
				wantScores = append(wantScores, "own") // at(25), after the traces' at(20)
				if ids := scoreIDs(resp.GetScores()); !slices.Equal(ids, wantScores) {
					t.Errorf("page %d: scores %v, want %v", pages, ids, wantScores)
				}
				if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
					break
				}
				if pages > len(want) {
					t.Fatal("paging does not end")
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("traces %v, want %v", got, want)
			}
		})
	}

	first, err := svc.GetSession(ctx, proj, &queryv1.GetSessionRequest{SessionId: "s", PageSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	if tr := first.GetTraces()[2]; tr.GetId() != "t3" || tr.GetUsage().GetInput() != 7 || tr.GetObservationCount() != 1 {
		t.Errorf("derived fields of the page's traces: %v", tr)
	}
	for _, tt := range []struct {
		name string
		req  *queryv1.GetSessionRequest
	}{
		{"page size too large", &queryv1.GetSessionRequest{SessionId: "s", PageSize: 1001}},
		{"negative page size", &queryv1.GetSessionRequest{SessionId: "s", PageSize: -1}},
		{"token of another session", &queryv1.GetSessionRequest{SessionId: "elsewhere", PageToken: first.GetNextPageToken()}},
		{"not a token", &queryv1.GetSessionRequest{SessionId: "s", PageToken: "abc"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := svc.GetSession(ctx, proj, tt.req)
			if f := fieldOf(t, err); f != "page_size" && f != "page_token" {
				t.Errorf("field %q", f)
			}
		})
	}
}

func scoreIDs(scores []*commonv1.Score) []string {
	var ids []string
	for _, s := range scores {
		ids = append(ids, s.GetId())
	}
	return ids
}
