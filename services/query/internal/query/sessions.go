package query

import (
	"context"
	"slices"

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
	sessions, err := s.store.ListSessions(ctx, projectID, SessionFilter{Time: tr, UserID: req.GetUserId()},
		Page{After: after, Limit: size + 1})
	if err != nil {
		return nil, err
	}
	sessions, next := nextPageToken(sessions, size, digest, func(sess *commonv1.Session) Cursor {
		return Cursor{TS: tsNanos(sess.GetLastSeen()), ID: sess.GetId()}
	})
	if len(sessions) > 0 {
		if err := s.sessionTotals(ctx, projectID, sessions); err != nil {
			return nil, err
		}
	}
	return &queryv1.ListSessionsResponse{Sessions: sessions, NextPageToken: next}, nil
}

// sessionTotals sums the usage and cost of the sessions' traces.
func (s *Service) sessionTotals(ctx context.Context, projectID string, sessions []*commonv1.Session) error {
	ids := make([]string, len(sessions))
	byID := make(map[string]*commonv1.Session, len(sessions))
	for i, sess := range sessions {
		ids[i] = sess.GetId()
		byID[sess.GetId()] = sess
	}
	traceSessions, err := s.store.SessionTraceIDs(ctx, projectID, ids)
	if err != nil {
		return err
	}
	traceIDs := make([]string, 0, len(traceSessions))
	for id := range traceSessions {
		traceIDs = append(traceIDs, id)
	}
	slices.Sort(traceIDs)
	// The trace ids are not sent back: a session may hold more of them
	// than fit in a query.
	stats, err := s.store.SessionTraceStats(ctx, projectID, ids)
	if err != nil {
		return err
	}
	for _, traceID := range traceIDs {
		if st, ok := stats[traceID]; ok {
			sess := byID[traceSessions[traceID]]
			sess.Usage = addUsage(sess.Usage, st.Usage)
			sess.Cost = addCost(sess.Cost, st.Cost)
		}
	}
	return nil
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
	sess, found, err := s.store.Session(ctx, projectID, id)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, ErrNotFound
	}
	traces, err := s.store.SessionTraces(ctx, projectID, id, Page{After: after, Limit: size + 1})
	if err != nil {
		return nil, err
	}
	traces, next := nextPageToken(traces, size, digest, func(t *commonv1.Trace) Cursor {
		return Cursor{TS: tsNanos(t.GetTimestamp()), ID: t.GetId()}
	})
	if err := s.deriveTraces(ctx, projectID, traces); err != nil {
		return nil, err
	}
	if err := s.sessionTotals(ctx, projectID, []*commonv1.Session{sess}); err != nil {
		return nil, err
	}
	ids := make([]string, len(traces))
	for i, t := range traces {
		ids[i] = t.GetId()
	}
	scores, err := s.store.SessionScores(ctx, projectID, id, ids)
	if err != nil {
		return nil, err
	}
	return &queryv1.GetSessionResponse{Session: sess, Traces: traces, Scores: scores, NextPageToken: next}, nil
}
