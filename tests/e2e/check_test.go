package e2e

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
)

// checkProject compares everything query shows the key of c with w: every
// trace by id (tree, scores, derived totals), every list paginated in small
// pages, every session, and a set of filters.
func checkProject(t *testing.T, c *restClient, w *want) problems {
	t.Helper()
	var p problems
	for _, id := range slices.Sorted(maps.Keys(w.traces)) {
		var got queryv1.GetTraceResponse
		if err := c.get(t, "/api/v1/traces/"+url.PathEscape(id), &got); err != nil {
			p.check(err)
			continue
		}
		sortScores(got.Scores)
		p.diff("GetTrace "+id, w.getTrace(id), &got)
		hasUpdatedAt(&p, "GetTrace trace", []*commonv1.Trace{got.GetTrace()})
		hasUpdatedAt(&p, "GetTrace observation", flatten(got.GetObservations()))
		hasUpdatedAt(&p, "GetTrace score", got.GetScores())
	}
	if len(p) > 0 {
		return p // the lists would repeat the same differences
	}

	traces, err := listTraces(t, c, url.Values{"page_size": {"7"}})
	p.check(err)
	checkList(&p, "ListTraces", w.tracesNewestFirst(), traces)
	hasUpdatedAt(&p, "ListTraces", traces)

	obs, err := listObservations(t, c, url.Values{"page_size": {"150"}})
	p.check(err)
	checkList(&p, "ListObservations", w.observationsNewestFirst(), obs)
	hasUpdatedAt(&p, "ListObservations", obs)

	scores, err := listScores(t, c, url.Values{"page_size": {"30"}})
	p.check(err)
	checkList(&p, "ListScores", w.scoresNewestFirst(), scores)
	hasUpdatedAt(&p, "ListScores", scores)

	sessions, err := listSessions(t, c, url.Values{"page_size": {"4"}})
	p.check(err)
	checkList(&p, "ListSessions", w.sessionsRecentFirst(), sessions)

	for _, id := range slices.Sorted(maps.Keys(w.sessions)) {
		var got queryv1.GetSessionResponse
		if err := c.get(t, "/api/v1/sessions/"+url.PathEscape(id), &got); err != nil {
			p.check(err)
			continue
		}
		sortScores(got.Scores)
		p.diff("GetSession "+id, w.getSession(id), &got)
	}
	if len(p) == 0 {
		checkFilters(t, c, w, &p)
	}
	return p
}

// checkFilters runs every documented list filter once, against the
// expected answer computed from w.
func checkFilters(t *testing.T, c *restClient, w *want, p *problems) {
	t.Helper()
	traces := w.tracesNewestFirst()
	mid := traces[len(traces)/2]
	from, to := traces[len(traces)*3/4].GetTimestamp(), traces[len(traces)/4].GetTimestamp()
	traceCases := []struct {
		name string
		q    url.Values
		keep func(*commonv1.Trace) bool
	}{
		{"session_id", url.Values{"session_id": {sessionID(1)}}, func(t *commonv1.Trace) bool { return t.GetSessionId() == sessionID(1) }},
		{"user_id", url.Values{"user_id": {"user-2"}}, func(t *commonv1.Trace) bool { return t.GetUserId() == "user-2" }},
		{"tags", url.Values{"tags": {"finished", "group-0"}}, func(t *commonv1.Trace) bool {
			return slices.Contains(t.GetTags(), "finished") && slices.Contains(t.GetTags(), "group-0")
		}},
		{"environment", url.Values{"environment": {"staging"}}, func(t *commonv1.Trace) bool { return t.GetEnvironment() == "staging" }},
		{"release", url.Values{"release": {"2024.11.2"}}, func(t *commonv1.Trace) bool { return t.GetRelease() == "2024.11.2" }},
		{"name", url.Values{"name": {mid.GetName()}}, func(t *commonv1.Trace) bool { return t.GetName() == mid.GetName() }},
		{"time range", url.Values{"from_time": {rfc3339(from)}, "to_time": {rfc3339(to)}}, func(t *commonv1.Trace) bool {
			return cmpTime(t.GetTimestamp(), from) >= 0 && cmpTime(t.GetTimestamp(), to) < 0
		}},
	}
	for _, tc := range traceCases {
		got, err := listTraces(t, c, tc.q)
		p.check(err)
		checkList(p, "ListTraces by "+tc.name, keep(traces, tc.keep), got)
	}

	observations := w.observationsNewestFirst()
	someTrace := traces[3].GetId()
	obsCases := []struct {
		name string
		q    url.Values
		keep func(*commonv1.Observation) bool
	}{
		{"trace_id", url.Values{"trace_id": {someTrace}}, func(o *commonv1.Observation) bool { return o.GetTraceId() == someTrace }},
		{"type and model", url.Values{"type": {"OBSERVATION_TYPE_GENERATION"}, "model": {"gpt-4o"}}, func(o *commonv1.Observation) bool {
			return o.GetType() == commonv1.ObservationType_OBSERVATION_TYPE_GENERATION && o.GetModel() == "gpt-4o"
		}},
		{"level", url.Values{"level": {"OBSERVATION_LEVEL_ERROR"}}, func(o *commonv1.Observation) bool {
			return o.GetLevel() == commonv1.ObservationLevel_OBSERVATION_LEVEL_ERROR
		}},
	}
	for _, tc := range obsCases {
		got, err := listObservations(t, c, tc.q)
		p.check(err)
		checkList(p, "ListObservations by "+tc.name, keep(observations, tc.keep), got)
	}

	scores := w.scoresNewestFirst()
	var onObservation *commonv1.Score
	for _, s := range scores {
		if s.GetObservationId() != "" {
			onObservation = s
			break
		}
	}
	scoreCases := []struct {
		name string
		q    url.Values
		keep func(*commonv1.Score) bool
	}{
		{"trace_id", url.Values{"trace_id": {onObservation.GetTraceId()}}, func(s *commonv1.Score) bool { return s.GetTraceId() == onObservation.GetTraceId() }},
		{"observation_id", url.Values{"observation_id": {onObservation.GetObservationId()}}, func(s *commonv1.Score) bool {
			return s.GetObservationId() == onObservation.GetObservationId()
		}},
		{"session_id", url.Values{"session_id": {sessionID(4)}}, func(s *commonv1.Score) bool { return s.GetSessionId() == sessionID(4) }},
		{"name, source and data type", url.Values{"name": {"correctness"}, "source": {"SCORE_SOURCE_EVAL"}, "data_type": {"SCORE_DATA_TYPE_CATEGORICAL"}}, func(s *commonv1.Score) bool {
			return s.GetName() == "correctness" && s.GetSource() == commonv1.ScoreSource_SCORE_SOURCE_EVAL &&
				s.GetDataType() == commonv1.ScoreDataType_SCORE_DATA_TYPE_CATEGORICAL
		}},
	}
	for _, tc := range scoreCases {
		got, err := listScores(t, c, tc.q)
		p.check(err)
		want := keep(scores, tc.keep)
		if len(want) == 0 {
			p.addf("fixture gives no score for filter %s", tc.name)
		}
		checkList(p, "ListScores by "+tc.name, want, got)
	}

	got, err := listSessions(t, c, url.Values{"user_id": {"user-3"}})
	p.check(err)
	checkList(p, "ListSessions by user_id", keep(w.sessionsRecentFirst(), func(s *commonv1.Session) bool {
		return slices.Contains(s.GetUserIds(), "user-3")
	}), got)
}

func keep[M any](all []M, f func(M) bool) []M {
	var out []M
	for _, m := range all {
		if f(m) {
			out = append(out, m)
		}
	}
	return out
}

func rfc3339(ts *timestamppb.Timestamp) string { return ts.AsTime().Format(time.RFC3339Nano) }

// eventually retries check until it reports no problem or timeout passes,
// then fails the test with the last problems.
func eventually(t *testing.T, what string, timeout time.Duration, check func() problems) {
	t.Helper()
	start := time.Now()
	deadline := start.Add(timeout)
	for {
		p := check()
		if len(p) == 0 {
			t.Logf("%s after %s", what, time.Since(start).Round(10*time.Millisecond))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still wrong after %s (%d problems):\n%v", what, timeout, len(p), p.err())
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// describe is a short summary of a fixture for the test log.
func (f *fixture) describe() string {
	var creates, updates int
	for _, e := range f.allEvents() {
		switch e.GetType().String()[len(e.GetType().String())-6:] {
		case "CREATE":
			creates++
		case "UPDATE":
			updates++
		}
	}
	return fmt.Sprintf("%d events (%d creates, %d updates) in %d batches, %d sent twice", f.events, creates, updates, len(f.batches), len(f.resend))
}
