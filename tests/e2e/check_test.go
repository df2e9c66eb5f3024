package e2e

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
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
	full := map[string][]*commonv1.Observation{}
	for _, id := range slices.Sorted(maps.Keys(w.traces)) {
		var got queryv1.GetTraceResponse
		if err := c.get(t, "/api/v1/traces/"+url.PathEscape(id), &got); err != nil {
			p.check(err)
			continue
		}
		checkTrace(&p, "GetTrace "+id, w.getTrace(id), &got)
		hasUpdatedAt(&p, "GetTrace trace", []*commonv1.Trace{got.GetTrace()})
		hasUpdatedAt(&p, "GetTrace observation", flatten(got.GetObservations()))
		hasUpdatedAt(&p, "GetTrace score", got.GetScores())
		full[id] = flatten(got.GetObservations())
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
		p.diff("GetSession "+id+": session", w.getSession(id).GetSession(), got.GetSession())
		checkList(&p, "GetSession "+id+": traces", w.getSession(id).GetTraces(), got.GetTraces())
		checkSet(&p, "GetSession "+id+": scores", w.getSession(id).GetScores(), got.GetScores())
	}
	if len(p) == 0 {
		checkFilters(t, c, w, &p)
	}
	if len(p) == 0 {
		for _, id := range slices.Sorted(maps.Keys(full)) {
			checkObservationView(t, &p, c, id, full[id])
		}
	}
	return p
}

// checkFilters runs every documented list filter once, with values taken
// from w, against the expected answer computed from w.
func checkFilters(t *testing.T, c *restClient, w *want, p *problems) {
	t.Helper()
	traces := w.tracesNewestFirst()
	mid := traces[len(traces)/2]
	ref := first(traces, func(t *commonv1.Trace) bool {
		return slices.Contains(t.GetTags(), "finished") && t.GetSessionId() != ""
	})
	groupTag := first(ref.GetTags(), func(tag string) bool { return strings.HasPrefix(tag, "group-") })
	from, to := traces[len(traces)*3/4].GetTimestamp(), traces[len(traces)/4].GetTimestamp()
	traceFilter := func(name string, q url.Values, keep func(*commonv1.Trace) bool) {
		checkFilter(t, c, p, "ListTraces by "+name, q, listTraces, traces, keep)
	}
	traceFilter("session_id", url.Values{"session_id": {ref.GetSessionId()}}, func(t *commonv1.Trace) bool { return t.GetSessionId() == ref.GetSessionId() })
	traceFilter("user_id", url.Values{"user_id": {ref.GetUserId()}}, func(t *commonv1.Trace) bool { return t.GetUserId() == ref.GetUserId() })
	traceFilter("tags", url.Values{"tags": {"finished", groupTag}}, func(t *commonv1.Trace) bool {
		return slices.Contains(t.GetTags(), "finished") && slices.Contains(t.GetTags(), groupTag)
	})
	traceFilter("environment", url.Values{"environment": {ref.GetEnvironment()}}, func(t *commonv1.Trace) bool { return t.GetEnvironment() == ref.GetEnvironment() })
	traceFilter("release", url.Values{"release": {ref.GetRelease()}}, func(t *commonv1.Trace) bool { return t.GetRelease() == ref.GetRelease() })
	traceFilter("name", url.Values{"name": {mid.GetName()}}, func(t *commonv1.Trace) bool { return t.GetName() == mid.GetName() })
	traceFilter("time range", url.Values{"from_time": {rfc3339(from)}, "to_time": {rfc3339(to)}}, func(t *commonv1.Trace) bool {
		return cmpTime(t.GetTimestamp(), from) >= 0 && cmpTime(t.GetTimestamp(), to) < 0
	})

	observations := w.observationsNewestFirst()
	gen := first(observations, func(o *commonv1.Observation) bool { return o.GetModel() != "" })
	obsFilter := func(name string, q url.Values, keep func(*commonv1.Observation) bool) {
		checkFilter(t, c, p, "ListObservations by "+name, q, listObservations, observations, keep)
	}
	obsFilter("trace_id", url.Values{"trace_id": {mid.GetId()}}, func(o *commonv1.Observation) bool { return o.GetTraceId() == mid.GetId() })
	obsFilter("type and model", url.Values{"type": {gen.GetType().String()}, "model": {gen.GetModel()}}, func(o *commonv1.Observation) bool {
		return o.GetType() == gen.GetType() && o.GetModel() == gen.GetModel()
	})
	obsFilter("level", url.Values{"level": {"OBSERVATION_LEVEL_ERROR"}}, func(o *commonv1.Observation) bool {
		return o.GetLevel() == commonv1.ObservationLevel_OBSERVATION_LEVEL_ERROR
	})

	scores := w.scoresNewestFirst()
	onObs := first(scores, func(s *commonv1.Score) bool { return s.GetObservationId() != "" })
	onSession := first(scores, func(s *commonv1.Score) bool { return s.GetSessionId() != "" })
	sc := scores[len(scores)/2]
	scoreFilter := func(name string, q url.Values, keep func(*commonv1.Score) bool) {
		checkFilter(t, c, p, "ListScores by "+name, q, listScores, scores, keep)
	}
	scoreFilter("trace_id", url.Values{"trace_id": {onObs.GetTraceId()}}, func(s *commonv1.Score) bool { return s.GetTraceId() == onObs.GetTraceId() })
	scoreFilter("observation_id", url.Values{"observation_id": {onObs.GetObservationId()}}, func(s *commonv1.Score) bool {
		return s.GetObservationId() == onObs.GetObservationId()
	})
	scoreFilter("session_id", url.Values{"session_id": {onSession.GetSessionId()}}, func(s *commonv1.Score) bool { return s.GetSessionId() == onSession.GetSessionId() })
	scoreFilter("name, source and data type", url.Values{"name": {sc.GetName()}, "source": {sc.GetSource().String()}, "data_type": {sc.GetDataType().String()}}, func(s *commonv1.Score) bool {
		return s.GetName() == sc.GetName() && s.GetSource() == sc.GetSource() && s.GetDataType() == sc.GetDataType()
	})

	sessions := w.sessionsRecentFirst()
	user := sessions[0].GetUserIds()[0]
	checkFilter(t, c, p, "ListSessions by user_id", url.Values{"user_id": {user}}, listSessions, sessions, func(s *commonv1.Session) bool {
		return slices.Contains(s.GetUserIds(), user)
	})
}

// checkFilter lists with the filter q and compares the answer with the
// items of all that keep selects. A filter that selects nothing of the
// fixture would prove nothing, so that is a problem too.
func checkFilter[M interface {
	proto.Message
	GetId() string
}](t *testing.T, c *restClient, p *problems, what string, q url.Values,
	list func(*testing.T, *restClient, url.Values) ([]M, error), all []M, keep func(M) bool) {
	t.Helper()
	want := keepOnly(all, keep)
	if len(want) == 0 {
		p.addf("%s: the fixture has nothing this filter selects", what)
		return
	}
	got, err := list(t, c, q)
	p.check(err)
	checkList(p, what, want, got)
}

// first is the first element of all that f accepts (the zero value if none).
func first[M any](all []M, f func(M) bool) M {
	for _, m := range all {
		if f(m) {
			return m
		}
	}
	var zero M
	return zero
}

func keepOnly[M any](all []M, f func(M) bool) []M {
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

// checkObservationView reads trace id in the basic view (each observation
// as in the full view, without input and output) and each of its
// observations on its own (as in the full view).
func checkObservationView(t *testing.T, p *problems, c *restClient, id string, full []*commonv1.Observation) {
	t.Helper()
	var basic queryv1.GetTraceResponse
	if err := c.get(t, "/api/v1/traces/"+url.PathEscape(id)+"?observation_view=OBSERVATION_VIEW_BASIC", &basic); err != nil {
		p.check(err)
		return
	}
	got := flatten(basic.GetObservations())
	if len(got) != len(full) {
		p.addf("GetTrace %s basic view: %d observations, full view %d", id, len(got), len(full))
		return
	}
	for i, o := range full {
		want := proto.Clone(o).(*commonv1.Observation)
		want.Input, want.Output = nil, nil
		if !proto.Equal(got[i], want) {
			p.addf("GetTrace %s basic view, observation %s:\n got %v\nwant %v", id, o.GetId(), got[i], want)
		}
		var one queryv1.GetObservationResponse
		if err := c.get(t, "/api/v1/traces/"+url.PathEscape(id)+"/observations/"+url.PathEscape(o.GetId()), &one); err != nil {
			p.check(err)
			continue
		}
		if !proto.Equal(one.GetObservation(), o) {
			p.addf("GetObservation %s/%s:\n got %v\nwant %v", id, o.GetId(), one.GetObservation(), o)
		}
	}
}
