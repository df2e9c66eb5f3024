package chstore

import (
	"context"
	"fmt"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
)

// Sessions are not stored: a session is the set of traces whose merged
// session_id names it. Their merge is scoped to the traces that have a
// version with a session id.

// SessionFilter selects sessions; zero fields match all.
type SessionFilter struct {
	// Time keeps sessions active during the range: last seen at or after
	// From and first seen before To.
	Time   TimeRange
	UserID string // sessions with a trace of this user
}

// sessionTraces merges the fields of traces that sessions are built from.
var sessionTraces = "SELECT id, " + columns(mergeString("session_id"), mergeUint("timestamp"), mergeString("user_id")) +
	" FROM " + tracesTable + " WHERE project_id = ? AND id IN" +
	" (SELECT id FROM " + tracesTable + " WHERE project_id = ? AND session_id != '')" +
	" GROUP BY id HAVING m_session_id != ''"

// ListSessions returns one page of sessions, most recently active first
// (last seen, then session id, descending). Usage and cost are not filled:
// see SessionTraceIDs and TraceStats.
func (s *Store) ListSessions(ctx context.Context, projectID string, f SessionFilter, page Page) ([]*commonv1.Session, error) {
	var having conds
	if f.Time.From != 0 {
		having.add("last_seen >= ?", f.Time.From)
	}
	if f.Time.To != 0 {
		having.add("first_seen != 0 AND first_seen < ?", f.Time.To)
	}
	if f.UserID != "" {
		having.add("has(user_ids, ?)", f.UserID)
	}
	if page.After != nil {
		having.add("(last_seen, m_session_id) < (?, ?)", page.After.TS, page.After.ID)
	}
	q := newQuery("list sessions").
		add("SELECT m_session_id, minIf(m_timestamp, m_timestamp != 0) AS first_seen, max(m_timestamp) AS last_seen,").
		add("count() AS trace_count, arraySort(groupUniqArrayIf(m_user_id, m_user_id != '')) AS user_ids").
		add("FROM ("+sessionTraces+")", projectID, projectID).
		add("GROUP BY m_session_id").
		addConds("HAVING", &having).
		add("ORDER BY last_seen DESC, m_session_id DESC LIMIT ?", page.Limit)
	rows, err := s.query(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*commonv1.Session
	for rows.Next() {
		var (
			sess        commonv1.Session
			first, last uint64
			count       uint64
		)
		if err := rows.Scan(&sess.Id, &first, &last, &count, &sess.UserIds); err != nil {
			return nil, fmt.Errorf("scan session: %w", err)
		}
		sess.ProjectId = projectID
		sess.FirstSeen, sess.LastSeen = timestamp(first), timestamp(last)
		sess.TraceCount = int64(count)
		if len(sess.UserIds) == 0 {
			sess.UserIds = nil
		}
		out = append(out, &sess)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read sessions: %w", err)
	}
	return out, nil
}

// SessionTraceIDs maps the id of every trace of the given sessions to its session.
func (s *Store) SessionTraceIDs(ctx context.Context, projectID string, sessionIDs []string) (map[string]string, error) {
	out := map[string]string{}
	if len(sessionIDs) == 0 {
		return out, nil
	}
	q := newQuery("session trace ids").
		add("SELECT id, "+mergeString("session_id")+" FROM "+tracesTable).
		add("WHERE project_id = ? AND id IN (SELECT id FROM "+tracesTable, projectID).
		add("WHERE project_id = ? AND session_id IN ?)", projectID, set(sessionIDs)).
		add("GROUP BY id HAVING m_session_id IN ?", set(sessionIDs))
	rows, err := s.query(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var traceID, sessionID string
		if err := rows.Scan(&traceID, &sessionID); err != nil {
			return nil, fmt.Errorf("scan session trace ids: %w", err)
		}
		out[traceID] = sessionID
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read session trace ids: %w", err)
	}
	return out, nil
}

// SessionTraces merges the traces of one session, oldest first (then id).
func (s *Store) SessionTraces(ctx context.Context, projectID, sessionID string) ([]*commonv1.Trace, error) {
	q := newQuery("session traces").
		add("SELECT "+traceColumns+" FROM "+tracesTable).
		add("WHERE project_id = ? AND id IN (SELECT id FROM "+tracesTable, projectID).
		add("WHERE project_id = ? AND session_id = ?)", projectID, sessionID).
		add("GROUP BY id HAVING m_session_id = ? ORDER BY m_timestamp, id", sessionID)
	return s.traces(ctx, q, projectID)
}
