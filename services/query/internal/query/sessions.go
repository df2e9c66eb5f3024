package query

import (
	"context"
	"slices"

	"golang.org/x/sync/errgroup"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
)

// ListSessions returns a page of sessions, most recently active first, with
// the usage and cost totals of their traces.
func (s *Service) ListSessions(ctx context.Context, projectID string, req *queryv1.ListSessionsRequest) (*queryv1.ListSessionsResponse, error) {
	size, err := pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	tr, err := timeRange(req.GetFromTime(), req.GetToTime())
	if err != nil {
		return nil, err
	}
	digest := digestOf(req, nil)
	after, err := decodePageToken(req.GetPageToken(), digest)
	if err != nil {
		return nil, err
	}
	sessions, days, err := s.store.ListSessions(ctx, projectID, SessionFilter{Time: tr, UserID: req.GetUserId()},
		Page{After: after, Limit: size + 1})
	if err != nil {
		return nil, err
	}
	sessions, next := nextPageToken(sessions, size, digest, func(sess *commonv1.Session) Cursor {
		return Cursor{TS: tsNanos(sess.GetLastSeen()), ID: sess.GetId()}
	})
	if len(sessions) > 0 {
		if err := s.sessionTotals(ctx, projectID, sessions, days); err != nil {
			return nil, err
		}
	}
	return &queryv1.ListSessionsResponse{Sessions: sessions, NextPageToken: next}, nil
}

// sessionTotals sums the usage and cost of the sessions' traces into them,
// reading their rows on days (looked up when it is every day).
func (s *Service) sessionTotals(ctx context.Context, projectID string, sessions []*commonv1.Session, days Days) error {
	ids := make([]string, len(sessions))
	for i, sess := range sessions {
		ids[i] = sess.GetId()
	}
	if days.All() {
		var err error
		if days, err = s.store.SessionDays(ctx, projectID, ids); err != nil {
			return err
		}
	}
	totals, _, err := s.sessionTotalsOn(ctx, projectID, ids, days)
	if err != nil {
		return err
	}
	for _, sess := range sessions {
		totals[sess.GetId()].apply(sess)
	}
	return nil
}

// sessionTotal is the usage and cost of a session's traces.
type sessionTotal struct {
	usage *commonv1.Usage
	cost  *commonv1.Cost
}

// apply sets sess's totals (none: t is nil).
func (t *sessionTotal) apply(sess *commonv1.Session) {
	if t != nil {
		sess.Usage, sess.Cost = t.usage, t.cost
	}
}

// sessionTotalsOn sums, by session, the usage and cost of the traces of
// the sessions, whose rows lie on days; it also returns the totals of each
// of those traces, by id.
func (s *Service) sessionTotalsOn(ctx context.Context, projectID string, sessionIDs []string, days Days) (map[string]*sessionTotal, map[string]*TraceStats, error) {
	var (
		traceSessions map[string]string
		stats         map[string]*TraceStats
	)
	// The trace ids are not sent back: a session may hold more of them
	// than fit in a query. Both reads find the sessions' traces alike.
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		traceSessions, err = s.store.SessionTraceIDs(gctx, projectID, sessionIDs, days)
		return err
	})
	g.Go(func() (err error) {
		stats, err = s.store.SessionTraceStats(gctx, projectID, sessionIDs, days)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	traceIDs := make([]string, 0, len(traceSessions))
	for id := range traceSessions {
		traceIDs = append(traceIDs, id)
	}
	slices.Sort(traceIDs) // sums in one order, whatever the map's
	out := map[string]*sessionTotal{}
	for _, traceID := range traceIDs {
		st, ok := stats[traceID]
		if !ok {
			continue
		}
		id := traceSessions[traceID]
		t := out[id]
		if t == nil {
			t = &sessionTotal{}
			out[id] = t
		}
		t.usage = addUsage(t.usage, st.Usage)
		t.cost = addCost(t.cost, st.Cost)
	}
	return out, stats, nil
}

// GetSession returns a session (its totals over all its traces) with one
// page of its traces (oldest first, with derived fields) and the scores of
// the session and of the page's traces.
func (s *Service) GetSession(ctx context.Context, projectID string, req *queryv1.GetSessionRequest) (*queryv1.GetSessionResponse, error) {
	id := req.GetSessionId()
	if id == "" {
		return nil, invalid("session_id", "is required")
	}
	size, err := sessionPageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	// The digest covers the session id, so a token is refused for any other.
	digest := digestOf(req, nil)
	after, err := decodePageToken(req.GetPageToken(), digest)
	if err != nil {
		return nil, err
	}
	// The days the session's traces have rows on bound every read of
	// their rows; the summary, the page and the totals are independent.
	days, err := s.store.SessionDays(ctx, projectID, []string{id})
	if err != nil {
		return nil, err
	}
	var (
		sess   *commonv1.Session
		found  bool
		traces []*commonv1.Trace
		totals map[string]*sessionTotal
		stats  map[string]*TraceStats
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { sess, found, err = s.store.Session(gctx, projectID, id, days); return err })
	g.Go(func() (err error) {
		traces, err = s.store.SessionTraces(gctx, projectID, id, days, Page{After: after, Limit: size + 1})
		return err
	})
	g.Go(func() (err error) {
		totals, stats, err = s.sessionTotalsOn(gctx, projectID, []string{id}, days)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if !found {
		return nil, ErrNotFound
	}
	totals[id].apply(sess)
	traces, next := nextPageToken(traces, size, digest, func(t *commonv1.Trace) Cursor {
		return Cursor{TS: tsNanos(t.GetTimestamp()), ID: t.GetId()}
	})
	// The session's totals were summed from each of its traces' totals,
	// so the page's traces take theirs from there.
	ids := make([]string, len(traces))
	for i, t := range traces {
		ids[i] = t.GetId()
		applyStats(t, stats[t.GetId()])
	}
	scores, err := s.store.SessionScores(ctx, projectID, id, ids)
	if err != nil {
		return nil, err
	}
	return &queryv1.GetSessionResponse{Session: sess, Traces: traces, Scores: scores, NextPageToken: next}, nil
}
