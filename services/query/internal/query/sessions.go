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
	rows, days, err := s.store.ListSessions(ctx, projectID, SessionFilter{Time: tr, UserID: req.GetUserId()},
		Page{After: after, Limit: size + 1})
	if err != nil {
		return nil, err
	}
	rows, next := nextPageToken(rows, size, digest, func(r SessionRow) Cursor {
		return Cursor{TS: tsNanos(r.Session.GetLastSeen()), ID: r.Session.GetId()}
	})
	if len(rows) > 0 {
		if err := s.sessionTotals(ctx, projectID, rows, days); err != nil {
			return nil, err
		}
	}
	sessions := make([]*commonv1.Session, len(rows))
	for i, r := range rows {
		sessions[i] = r.Session
	}
	return &queryv1.ListSessionsResponse{Sessions: sessions, NextPageToken: next}, nil
}

// sessionTotals sums the usage and cost of the sessions' traces into them,
// reading their rows on days (looked up when it is every day).
func (s *Service) sessionTotals(ctx context.Context, projectID string, rows []SessionRow, days Days) error {
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.Session.GetId()
	}
	if days.All() {
		var err error
		if days, err = s.store.SessionDays(ctx, projectID, ids); err != nil {
			return err
		}
	}
	stats, err := s.store.SessionTraceStats(ctx, projectID, ids, days)
	if err != nil {
		return err
	}
	for _, r := range rows {
		sumSession(r, stats)
	}
	return nil
}

// sumSession sets the session's usage and cost to the sums of its traces'
// (stats by trace id, which may hold other traces too); none when none of
// its traces has any.
func sumSession(r SessionRow, stats map[string]*TraceStats) {
	ids := slices.Sorted(slices.Values(r.TraceIDs)) // sums in one order, whatever the store's
	for _, id := range ids {
		if st, ok := stats[id]; ok {
			r.Session.Usage = addUsage(r.Session.Usage, st.Usage)
			r.Session.Cost = addCost(r.Session.Cost, st.Cost)
		}
	}
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
		row    SessionRow
		found  bool
		traces []*commonv1.Trace
		stats  map[string]*TraceStats
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { row, found, err = s.store.Session(gctx, projectID, id, days); return err })
	g.Go(func() (err error) {
		traces, err = s.store.SessionTraces(gctx, projectID, id, days, Page{After: after, Limit: size + 1})
		return err
	})
	g.Go(func() (err error) {
		stats, err = s.store.SessionTraceStats(gctx, projectID, []string{id}, days)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if !found {
		return nil, ErrNotFound
	}
	sumSession(row, stats)
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
	// Those scores hold every score of the page's traces, whose summaries
	// are made from them.
	byTrace := map[string][]*commonv1.Score{}
	for _, sc := range scores {
		byTrace[sc.GetTraceId()] = append(byTrace[sc.GetTraceId()], sc)
	}
	for _, t := range traces {
		t.ScoreSummaries = summarizeScores(byTrace[t.GetId()])
	}
	return &queryv1.GetSessionResponse{Session: row.Session, Traces: traces, Scores: scores, NextPageToken: next}, nil
}
