package chstore

import (
	"context"
	"fmt"

	"github.com/agenttrace/agenttrace/pkg/chschema"
	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	"github.com/agenttrace/agenttrace/services/query/internal/query"
)

// Sessions are not stored: a session is the set of traces whose merged
// session_id names it. Their merge is scoped to the traces that have a
// version with a session id.

// Merged trace fields that sessions are built from.
var (
	mSessionID = chschema.Merged(chschema.ColSessionID)
	mUserID    = chschema.Merged(chschema.ColUserID)
)

// sessionTraces merges the fields of traces that sessions are built from.
var sessionTraces = "SELECT " + chschema.List(chschema.ColID, chschema.MergeString(chschema.ColSessionID),
	chschema.MergeUint(chschema.ColTimestamp), chschema.MergeString(chschema.ColUserID)) +
	" FROM " + tracesTable + " WHERE " + inProject + " AND " + chschema.ColID + " IN" +
	" (SELECT " + chschema.ColID + " FROM " + tracesTable + " WHERE " + inProject + " AND " + chschema.ColSessionID + " != '')" +
	" " + byID + " HAVING " + mSessionID + " != ''"

// sessionsOfTraces groups sessionTraces by session.
var sessionsOfTraces = "SELECT " + mSessionID + ", minIf(" + mTimestamp + ", " + mTimestamp + " != 0) AS first_seen, max(" + mTimestamp + ") AS last_seen," +
	" count() AS trace_count, arraySort(groupUniqArrayIf(" + mUserID + ", " + mUserID + " != '')) AS user_ids" +
	" FROM (" + sessionTraces + ") GROUP BY " + mSessionID

// ListSessions returns one page of sessions, most recently active first
// (last seen, then session id, descending). Usage and cost are not filled:
// see SessionTraceIDs and TraceStats.
func (s *Store) ListSessions(ctx context.Context, projectID string, f query.SessionFilter, page query.Page) ([]*commonv1.Session, error) {
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
		having.add("(last_seen, "+mSessionID+") < (?, ?)", page.After.TS, page.After.ID)
	}
	q := newQuery("list sessions").
		add(sessionsOfTraces, projectID, projectID).
		addConds("HAVING", &having).
		add("ORDER BY last_seen DESC, "+mSessionID+" DESC LIMIT ?", page.Limit)
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
		sess.FirstSeen, sess.LastSeen = chschema.Timestamp(first), chschema.Timestamp(last)
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
		add("SELECT "+chschema.List(chschema.ColID, chschema.MergeString(chschema.ColSessionID))+" FROM "+tracesTable).
		add("WHERE "+inProject+" AND "+chschema.ColID+" IN (SELECT "+chschema.ColID+" FROM "+tracesTable, projectID).
		add("WHERE "+inProject+" AND "+chschema.ColSessionID+" IN ?)", projectID, set(sessionIDs)).
		add(byID+" HAVING "+mSessionID+" IN ?", set(sessionIDs))
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

// SessionTraces merges one page of the traces of one session, oldest first
// (merged timestamp, then id): the first page.Limit after page.After. The
// page is picked on the narrow merged columns (id, session, timestamp) and
// only its traces are merged whole.
func (s *Store) SessionTraces(ctx context.Context, projectID, sessionID string, page query.Page) ([]*commonv1.Trace, error) {
	var after conds
	if page.After != nil {
		after.add("("+mTimestamp+", "+chschema.ColID+") > (?, ?)", page.After.TS, page.After.ID)
	}
	id := chschema.ColID
	q := newQuery("session traces").
		add("SELECT "+chschema.MergedTraceColumns+" FROM "+tracesTable).
		add("WHERE "+inProject+" AND "+id+" IN (SELECT "+id+" FROM (SELECT "+
			chschema.List(id, chschema.MergeString(chschema.ColSessionID), chschema.MergeUint(chschema.ColTimestamp))+" FROM "+tracesTable, projectID).
		add("WHERE "+inProject+" AND "+id+" IN (SELECT "+id+" FROM "+tracesTable+" WHERE "+inProject+" AND "+eq(chschema.ColSessionID)+")",
			projectID, projectID, sessionID).
		add(byID+" HAVING "+eq(mSessionID), sessionID).
		addConds("AND", &after).
		add("ORDER BY "+mTimestamp+", "+id+" LIMIT ?))", page.Limit).
		add(byID + " ORDER BY " + mTimestamp + ", " + id)
	return s.traces(ctx, q, projectID)
}

// Session summarizes one session (trace count, first and last seen, users);
// found is false when no trace's merged session names it. Usage and cost
// are not filled: see SessionTraceIDs and TraceStats.
func (s *Store) Session(ctx context.Context, projectID, sessionID string) (*commonv1.Session, bool, error) {
	id := chschema.ColID
	q := newQuery("session").
		add("SELECT count(), minIf("+mTimestamp+", "+mTimestamp+" != 0), max("+mTimestamp+"),").
		add("arraySort(groupUniqArrayIf("+mUserID+", "+mUserID+" != '')) FROM (SELECT "+
			chschema.List(id, chschema.MergeString(chschema.ColSessionID), chschema.MergeUint(chschema.ColTimestamp), chschema.MergeString(chschema.ColUserID))+
			" FROM "+tracesTable).
		add("WHERE "+inProject+" AND "+id+" IN (SELECT "+id+" FROM "+tracesTable+" WHERE "+inProject+" AND "+eq(chschema.ColSessionID)+")",
			projectID, projectID, sessionID).
		add(byID+" HAVING "+eq(mSessionID)+")", sessionID)
	rows, err := s.query(ctx, q)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	if !rows.Next() {
		return nil, false, rows.Err()
	}
	var (
		count       uint64
		first, last uint64
		sess        = commonv1.Session{Id: sessionID, ProjectId: projectID}
	)
	if err := rows.Scan(&count, &first, &last, &sess.UserIds); err != nil {
		return nil, false, fmt.Errorf("scan session: %w", err)
	}
	if count == 0 {
		return nil, false, nil
	}
	sess.TraceCount = int64(count)
	sess.FirstSeen, sess.LastSeen = chschema.Timestamp(first), chschema.Timestamp(last)
	if len(sess.UserIds) == 0 {
		sess.UserIds = nil
	}
	return &sess, true, nil
}
