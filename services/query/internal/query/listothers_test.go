package query_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/agenttrace/agenttrace/pkg/chschema"
	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
	"github.com/agenttrace/agenttrace/services/query/internal/chtest"

	. "github.com/agenttrace/agenttrace/services/query/internal/query"
)

func TestListObservations(t *testing.T) {
	svc, conn := newService(t)
	chtest.InsertObservations(t, conn,
		chtest.Observation{ProjectID: proj, TraceID: "t1", ID: "g1", Type: "GENERATION", Model: "gpt", Level: "DEFAULT", Name: "llm", Start: at(3), EventTS: at(3)},
		chtest.Observation{ProjectID: proj, TraceID: "t1", ID: "g1", Level: "ERROR", EventTS: at(4)}, // merged level is ERROR
		chtest.Observation{ProjectID: proj, TraceID: "t1", ID: "s1", Type: "SPAN", Name: "step", Start: at(2), EventTS: at(2)},
		chtest.Observation{ProjectID: proj, TraceID: "t2", ID: "s1", Type: "TOOL", Name: "step", Start: at(2), EventTS: at(2)}, // same id, other trace
		chtest.Observation{ProjectID: proj, TraceID: "t2", ID: "g2", Type: "GENERATION", Model: "claude", Start: at(1), EventTS: at(1)},
		chtest.Observation{ProjectID: other, TraceID: "t1", ID: "g1", Type: "GENERATION", Model: "gpt", Start: at(9), EventTS: at(9)},
	)
	key := func(o *commonv1.Observation) string { return o.GetTraceId() + "/" + o.GetId() }
	tests := []struct {
		name string
		req  *queryv1.ListObservationsRequest
		want []string
	}{
		{"all, newest start first, ties by id then trace", &queryv1.ListObservationsRequest{}, []string{"t1/g1", "t2/s1", "t1/s1", "t2/g2"}},
		{"trace", &queryv1.ListObservationsRequest{TraceId: "t2"}, []string{"t2/s1", "t2/g2"}},
		{"type", &queryv1.ListObservationsRequest{Type: commonv1.ObservationType_OBSERVATION_TYPE_GENERATION}, []string{"t1/g1", "t2/g2"}},
		{"model", &queryv1.ListObservationsRequest{Model: "claude"}, []string{"t2/g2"}},
		{"merged level", &queryv1.ListObservationsRequest{Level: commonv1.ObservationLevel_OBSERVATION_LEVEL_ERROR}, []string{"t1/g1"}},
		{"old level no longer matches", &queryv1.ListObservationsRequest{Level: commonv1.ObservationLevel_OBSERVATION_LEVEL_DEFAULT}, nil},
		{"name", &queryv1.ListObservationsRequest{Name: "step"}, []string{"t2/s1", "t1/s1"}},
		{"time range", &queryv1.ListObservationsRequest{FromTime: ts(2), ToTime: ts(3)}, []string{"t2/s1", "t1/s1"}},
		{"trace and type", &queryv1.ListObservationsRequest{TraceId: "t2", Type: commonv1.ObservationType_OBSERVATION_TYPE_TOOL}, []string{"t2/s1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			req := cloneReq(tt.req)
			req.PageSize = 1 // walk page by page: every listing here also checks pagination
			for range 10 {
				resp, err := svc.ListObservations(ctx, proj, req)
				if err != nil {
					t.Fatal(err)
				}
				for _, o := range resp.GetObservations() {
					got = append(got, key(o))
				}
				if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
					break
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestListScores(t *testing.T) {
	svc, conn := newService(t)
	chtest.InsertScores(t, conn,
		chtest.Score{ProjectID: proj, ID: "a", TraceID: "t1", Name: "quality", DataType: "NUMERIC", Source: "API", Value: chtest.F(1), Timestamp: at(3), EventTS: at(3)},
		chtest.Score{ProjectID: proj, ID: "a", Source: "ANNOTATION", EventTS: at(4)},
		chtest.Score{ProjectID: proj, ID: "b", TraceID: "t1", ObservationID: "o1", Name: "ok", DataType: "BOOLEAN", Source: "EVAL", Timestamp: at(2), EventTS: at(2)},
		chtest.Score{ProjectID: proj, ID: "c", SessionID: "s1", Name: "mood", DataType: "CATEGORICAL", StringValue: "happy", Timestamp: at(2), EventTS: at(2)},
		chtest.Score{ProjectID: proj, ID: "d", TraceID: "t2", Name: "quality", Timestamp: at(1), EventTS: at(1)},
		chtest.Score{ProjectID: other, ID: "e", TraceID: "t1", Name: "quality", Timestamp: at(5), EventTS: at(5)},
	)
	tests := []struct {
		name string
		req  *queryv1.ListScoresRequest
		want []string
	}{
		{"all, newest first, ties by id desc", &queryv1.ListScoresRequest{}, []string{"a", "c", "b", "d"}},
		{"trace", &queryv1.ListScoresRequest{TraceId: "t1"}, []string{"a", "b"}},
		{"observation", &queryv1.ListScoresRequest{ObservationId: "o1"}, []string{"b"}},
		{"session", &queryv1.ListScoresRequest{SessionId: "s1"}, []string{"c"}},
		{"name", &queryv1.ListScoresRequest{Name: "quality"}, []string{"a", "d"}},
		{"merged source", &queryv1.ListScoresRequest{Source: commonv1.ScoreSource_SCORE_SOURCE_ANNOTATION}, []string{"a"}},
		{"old source", &queryv1.ListScoresRequest{Source: commonv1.ScoreSource_SCORE_SOURCE_API}, nil},
		{"data type", &queryv1.ListScoresRequest{DataType: commonv1.ScoreDataType_SCORE_DATA_TYPE_CATEGORICAL}, []string{"c"}},
		{"time", &queryv1.ListScoresRequest{FromTime: ts(1.5), ToTime: ts(3)}, []string{"c", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			req := cloneReq(tt.req)
			req.PageSize = 1
			for range 10 {
				resp, err := svc.ListScores(ctx, proj, req)
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range resp.GetScores() {
					got = append(got, s.GetId())
				}
				if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
					break
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSessions(t *testing.T) {
	svc, conn := newService(t)
	chtest.InsertTraces(t, conn,
		chtest.Trace{ProjectID: proj, ID: "t1", SessionID: "s1", UserID: "u1", Timestamp: at(1), EventTS: at(1)},
		chtest.Trace{ProjectID: proj, ID: "t2", SessionID: "s1", UserID: "u2", Timestamp: at(5), EventTS: at(5)},
		chtest.Trace{ProjectID: proj, ID: "t2", Name: "update without session", EventTS: at(6)},
		chtest.Trace{ProjectID: proj, ID: "t3", SessionID: "s2", UserID: "u1", Timestamp: at(3), EventTS: at(3)},
		chtest.Trace{ProjectID: proj, ID: "t4", SessionID: "s2", Timestamp: at(10), EventTS: at(10)},
		chtest.Trace{ProjectID: proj, ID: "t4", SessionID: "s3", EventTS: at(11)},   // moved to s3
		chtest.Trace{ProjectID: proj, ID: "t5", Timestamp: at(20), EventTS: at(20)}, // no session
		chtest.Trace{ProjectID: other, ID: "t9", SessionID: "s1", Timestamp: at(50), EventTS: at(50)},
	)
	chtest.InsertObservations(t, conn,
		chtest.Observation{ProjectID: proj, TraceID: "t1", ID: "o1", UsageInput: chtest.I(10), CostTotal: chtest.F(1), EventTS: at(1)},
		chtest.Observation{ProjectID: proj, TraceID: "t2", ID: "o1", UsageInput: chtest.I(5), EventTS: at(1)},
		chtest.Observation{ProjectID: proj, TraceID: "t3", ID: "o1", UsageInput: chtest.I(100), EventTS: at(1)},
		chtest.Observation{ProjectID: other, TraceID: "t1", ID: "o9", UsageInput: chtest.I(1000), EventTS: at(1)},
	)
	chtest.InsertScores(t, conn,
		chtest.Score{ProjectID: proj, ID: "sc1", SessionID: "s1", Name: "session score", Timestamp: at(7), EventTS: at(7)},
		chtest.Score{ProjectID: proj, ID: "sc2", TraceID: "t1", Name: "trace score", Timestamp: at(2), EventTS: at(2)},
		chtest.Score{ProjectID: proj, ID: "sc3", TraceID: "t3", Name: "other session", Timestamp: at(2), EventTS: at(2)},
		chtest.Score{ProjectID: other, ID: "sc4", SessionID: "s1", Timestamp: at(2), EventTS: at(2)},
	)

	list, err := svc.ListSessions(ctx, proj, &queryv1.ListSessionsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range list.GetSessions() {
		ids = append(ids, s.GetId())
	}
	if !slices.Equal(ids, []string{"s3", "s1", "s2"}) {
		t.Fatalf("sessions = %v, want [s3 s1 s2]", ids)
	}
	s1 := list.GetSessions()[1]
	if s1.GetTraceCount() != 2 || s1.GetFirstSeen().AsTime().UnixNano() != int64(at(1)) || s1.GetLastSeen().AsTime().UnixNano() != int64(at(5)) ||
		!slices.Equal(s1.GetUserIds(), []string{"u1", "u2"}) || s1.GetUsage().GetInput() != 15 || s1.GetCost().GetTotal() != 1 {
		t.Errorf("s1 = %v", s1)
	}
	if s2 := list.GetSessions()[2]; s2.GetTraceCount() != 1 || s2.GetUsage().GetInput() != 100 {
		t.Errorf("s2 = %v", s2)
	}

	filters := []struct {
		name string
		req  *queryv1.ListSessionsRequest
		want []string
	}{
		{"user", &queryv1.ListSessionsRequest{UserId: "u1"}, []string{"s1", "s2"}},
		{"active from", &queryv1.ListSessionsRequest{FromTime: ts(4)}, []string{"s3", "s1"}},
		{"active before", &queryv1.ListSessionsRequest{ToTime: ts(3)}, []string{"s1"}},
		{"overlap", &queryv1.ListSessionsRequest{FromTime: ts(2), ToTime: ts(4)}, []string{"s1", "s2"}},
	}
	for _, tt := range filters {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			req := cloneReq(tt.req)
			req.PageSize = 1
			for range 10 {
				resp, err := svc.ListSessions(ctx, proj, req)
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range resp.GetSessions() {
					got = append(got, s.GetId())
				}
				if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
					break
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}

	got, err := svc.GetSession(ctx, proj, &queryv1.GetSessionRequest{SessionId: "s1"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(traceIDs(got.GetTraces()), []string{"t1", "t2"}) {
		t.Errorf("session traces = %v, want [t1 t2] oldest first", traceIDs(got.GetTraces()))
	}
	if got.GetTraces()[1].GetName() != "update without session" || got.GetTraces()[0].GetObservationCount() != 1 {
		t.Errorf("session traces not merged/derived: %v", got.GetTraces())
	}
	if s := got.GetSession(); s.GetTraceCount() != s1.GetTraceCount() || s.GetUsage().GetInput() != 15 ||
		!slices.Equal(s.GetUserIds(), s1.GetUserIds()) || !s.GetFirstSeen().AsTime().Equal(s1.GetFirstSeen().AsTime()) ||
		!s.GetLastSeen().AsTime().Equal(s1.GetLastSeen().AsTime()) {
		t.Errorf("GetSession session %v differs from the listed %v", s, s1)
	}
	var scoreIDs []string
	for _, s := range got.GetScores() {
		scoreIDs = append(scoreIDs, s.GetId())
	}
	if !slices.Equal(scoreIDs, []string{"sc2", "sc1"}) {
		t.Errorf("session scores = %v, want [sc2 sc1]", scoreIDs)
	}
	for _, id := range []string{"nope", "t9"} {
		if _, err := svc.GetSession(ctx, proj, &queryv1.GetSessionRequest{SessionId: id}); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetSession(%s) = %v, want ErrNotFound", id, err)
		}
	}
	if _, err := svc.GetSession(ctx, other, &queryv1.GetSessionRequest{SessionId: "s2"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("another project sees s2: %v", err)
	}
}

// A session with more traces than their ids would fit in one query's text
// (ClickHouse's max_query_size is 256 KiB): its list entry, its page and its
// scores are read with subqueries, so neither answers "Max query size
// exceeded".
func TestSessionWithManyTraces(t *testing.T) {
	svc, conn := newService(t)
	const n = 8000
	traces := make([]chtest.Trace, n)
	observations := make([]chtest.Observation, n)
	for i := range n {
		id := fmt.Sprintf("trace-of-a-long-session-%016d", i) // 40 bytes: n of them are over 256 KiB
		traces[i] = chtest.Trace{ProjectID: proj, ID: id, SessionID: "long", Timestamp: at(1) + uint64(i), EventTS: at(1)}
		observations[i] = chtest.Observation{ProjectID: proj, TraceID: id, ID: "o", UsageInput: chtest.I(1), CostTotal: chtest.F(0.5), EventTS: at(1)}
	}
	chtest.InsertTraces(t, conn, traces...)
	chtest.InsertObservations(t, conn, observations...)
	chtest.InsertScores(t, conn, chtest.Score{ProjectID: proj, ID: "last", TraceID: traces[n-1].ID, Name: "q", Timestamp: at(2), EventTS: at(2)})

	list, err := svc.ListSessions(ctx, proj, &queryv1.ListSessionsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.GetSessions()) != 1 {
		t.Fatalf("sessions = %v", list.GetSessions())
	}
	if s := list.GetSessions()[0]; s.GetTraceCount() != n || s.GetUsage().GetInput() != n || s.GetCost().GetTotal() != n/2 {
		t.Errorf("listed session: %d traces, %d input tokens, cost %v; want %d, %d, %v",
			s.GetTraceCount(), s.GetUsage().GetInput(), s.GetCost().GetTotal(), n, n, n/2)
	}
	got, err := svc.GetSession(ctx, proj, &queryv1.GetSessionRequest{SessionId: "long"})
	if err != nil {
		t.Fatal(err)
	}
	// The session's totals cover every trace; the page holds the oldest
	// DefaultSessionPageSize, and the last page the newest trace's score.
	if s := got.GetSession(); s.GetTraceCount() != n || s.GetUsage().GetInput() != n || len(got.GetTraces()) != DefaultSessionPageSize {
		t.Errorf("session: %d traces (%d returned), %d input tokens; want %d (%d)", s.GetTraceCount(), len(got.GetTraces()), s.GetUsage().GetInput(), n, DefaultSessionPageSize)
	}
	if len(got.GetScores()) != 0 {
		t.Errorf("first page's scores = %v, want none (the score is the last trace's)", got.GetScores())
	}
	req := &queryv1.GetSessionRequest{SessionId: "long", PageSize: MaxPageSize}
	pages := 0
	for {
		got, err = svc.GetSession(ctx, proj, req)
		if err != nil {
			t.Fatal(err)
		}
		if pages++; got.GetNextPageToken() == "" || pages > n/MaxPageSize {
			break
		}
		req.PageToken = got.GetNextPageToken()
	}
	if pages != n/MaxPageSize || len(got.GetTraces()) != MaxPageSize {
		t.Fatalf("%d pages, the last of %d traces; want %d of %d", pages, len(got.GetTraces()), n/MaxPageSize, MaxPageSize)
	}
	if tr := got.GetTraces()[MaxPageSize-1]; tr.GetId() != traces[n-1].ID || tr.GetUsage().GetInput() != 1 || tr.GetObservationCount() != 1 {
		t.Errorf("last trace: %v", tr)
	}
	if len(got.GetScores()) != 1 || got.GetScores()[0].GetId() != "last" {
		t.Errorf("last page's scores = %v, want the last trace's", got.GetScores())
	}
}

// TestSessionsReadEveryMonthOfTheirRows: a session's reads are bounded by
// the days its traces have rows on (SessionDays), so a session whose traces
// and observations span months, and which a trace joins by a late update,
// comes back whole in GetSession and ListSessions.
func TestSessionsReadEveryMonthOfTheirRows(t *testing.T) {
	const day = 24 * 3600
	svc, conn := newService(t)
	// January: the session's first trace; February and March: its
	// observations; April: a trace of March joins the session.
	chtest.InsertTraces(t, conn,
		chtest.Trace{ProjectID: proj, ID: "jan", SessionID: "long", UserID: "u1", Timestamp: at(0), EventTS: at(0)},
		chtest.Trace{ProjectID: proj, ID: "mar", Timestamp: at(60 * day), EventTS: at(60 * day)},
		chtest.Trace{ProjectID: proj, ID: "mar", SessionID: "long", UserID: "u2", EventTS: at(100 * day)},
		chtest.Trace{ProjectID: proj, ID: "short", SessionID: "short", Timestamp: at(50 * day), EventTS: at(50 * day)})
	chtest.InsertObservations(t, conn,
		chtest.Observation{ProjectID: proj, TraceID: "jan", ID: "o1", UsageInput: chtest.I(1), EventTS: at(0)},
		chtest.Observation{ProjectID: proj, TraceID: "jan", ID: "o2", UsageInput: chtest.I(10), CostTotal: chtest.F(2), EventTS: at(40 * day)},
		chtest.Observation{ProjectID: proj, TraceID: "mar", ID: "o1", UsageInput: chtest.I(100), EventTS: at(70 * day)})

	check := func(what string, s *commonv1.Session) {
		t.Helper()
		if s.GetTraceCount() != 2 || s.GetUsage().GetInput() != 111 || s.GetCost().GetTotal() != 2 ||
			s.GetFirstSeen().AsTime().UnixNano() != int64(at(0)) || s.GetLastSeen().AsTime().UnixNano() != int64(at(60*day)) ||
			!slices.Equal(s.GetUserIds(), []string{"u1", "u2"}) {
			t.Errorf("%s: session = %v", what, s)
		}
	}
	got, err := svc.GetSession(ctx, proj, &queryv1.GetSessionRequest{SessionId: "long"})
	if err != nil {
		t.Fatal(err)
	}
	check("GetSession", got.GetSession())
	var traces []string
	for _, tr := range got.GetTraces() {
		traces = append(traces, fmt.Sprintf("%s/%d", tr.GetId(), tr.GetUsage().GetInput()))
	}
	if !slices.Equal(traces, []string{"jan/11", "mar/100"}) {
		t.Errorf("GetSession traces = %v, want [jan/11 mar/100]", traces)
	}
	list, err := svc.ListSessions(ctx, proj, &queryv1.ListSessionsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.GetSessions()) != 2 || list.GetSessions()[0].GetId() != "long" {
		t.Fatalf("sessions = %v, want long then short", list.GetSessions())
	}
	check("ListSessions", list.GetSessions()[0])
}

// TestUserWithManySessions: a user's sessions are listed however many
// there are, though their ids alone are longer than a query may be
// (max_query_size, 256 KiB): no query's text holds them.
func TestUserWithManySessions(t *testing.T) {
	svc, conn := newService(t)
	const (
		n      = 6000
		prefix = "a-session-of-a-user-with-very-many-of-them-" // with a number, 49 bytes: n of them are over 256 KiB
	)
	traces := make([]chtest.Trace, 0, n+1)
	for i := range n {
		session := fmt.Sprintf("%s%06d", prefix, i)
		traces = append(traces, chtest.Trace{ProjectID: proj, ID: fmt.Sprintf("t%06d", i), SessionID: session, UserID: "many",
			Timestamp: at(1) + uint64(i), EventTS: at(1)})
	}
	traces = append(traces, chtest.Trace{ProjectID: proj, ID: "newest", SessionID: "another user's", UserID: "other", Timestamp: at(2), EventTS: at(2)})
	chtest.InsertTraces(t, conn, traces...)

	for _, req := range []*queryv1.ListSessionsRequest{{UserId: "many", PageSize: 3}, {PageSize: 3}} {
		var got []string
		for range 2 {
			resp, err := svc.ListSessions(ctx, proj, req)
			if err != nil {
				t.Fatalf("ListSessions(%v) = %v", req, err)
			}
			for _, s := range resp.GetSessions() {
				got = append(got, fmt.Sprintf("%s/%d", strings.TrimPrefix(s.GetId(), prefix), s.GetTraceCount()))
			}
			req.PageToken = resp.GetNextPageToken()
		}
		want := []string{"005999/1", "005998/1", "005997/1", "005996/1", "005995/1", "005994/1"}
		if req.GetUserId() == "" {
			want = append([]string{"another user's/1"}, want[:5]...)
		}
		if !slices.Equal(got, want) {
			t.Errorf("ListSessions user %q, two pages = %v, want %v", req.GetUserId(), got, want)
		}
	}
}

// TestListSessionsStoreErrors: a failed read fails ListSessions, with or
// without a user, and the failure is neither NotFound nor a field error.
func TestListSessionsStoreErrors(t *testing.T) {
	for _, user := range []string{"", "u1"} {
		t.Run("user="+user, func(t *testing.T) {
			svc, conn := newService(t)
			chtest.InsertTraces(t, conn, chtest.Trace{ProjectID: proj, ID: "t1", SessionID: "s1", UserID: "u1", Timestamp: at(1), EventTS: at(1)})
			if err := conn.Exec(ctx, "DROP TABLE "+chschema.Traces); err != nil {
				t.Fatal(err)
			}
			_, err := svc.ListSessions(ctx, proj, &queryv1.ListSessionsRequest{UserId: user})
			if !isStoreError(err) {
				t.Fatalf("ListSessions without %s = %v, want a store error", chschema.Traces, err)
			}
		})
	}
}
