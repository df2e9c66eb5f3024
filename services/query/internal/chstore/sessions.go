package chstore

import (
	"context"
	"fmt"
	"slices"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/ext"

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

// sessionsTraces selects, from the traces' session and user index, the ids
// of the traces with a version naming a session (of the project; bind it):
// the caller adds its condition on the session (value), if any, and closes
// the parenthesis. A trace found here is in the session its merged session
// id names, which the caller checks.
var sessionsTraces = "(SELECT " + chschema.ColTraceID + " FROM " + chschema.TraceRefs + " " + inProjectRows +
	" AND field = '" + chschema.RefSession + "'"

// sessionTraces merges the fields that sessions are built from, of the
// traces with a version naming a session of the set (the right side of an
// IN: the external table of withSessions, or "(?)" for one session bound
// in setArgs; "" for every session), keeping those whose merged session is
// in it. A session of the set thus gets every one of its traces: a trace's
// merged session is the session of one of its versions. Their rows are read
// on days.
func sessionTraces(q *sqlQuery, projectID, set string, setArgs []any, days query.Days) {
	in := ")"
	having := mSessionID + " != ''"
	if set != "" {
		in, having = " AND value IN "+set+")", mSessionID+" IN "+set
	}
	within, dayArgs := onDays(days)
	q.add("SELECT "+chschema.List(chschema.ColID, chschema.MergeString(chschema.ColSessionID),
		chschema.MergeUint(chschema.ColTimestamp), chschema.MergeString(chschema.ColUserID))+
		" FROM "+tracesTable+" "+inProjectRows+" AND "+chschema.ColID+" IN", projectID).
		add(sessionsTraces+in+within, slices.Concat([]any{projectID}, setArgs, dayArgs)...).
		add(byID+" HAVING "+having, setArgs...)
}

// A page of sessions is found through the traces' time index, window by
// window as a trace list is (see pageKeys): a session's last seen is the
// merged timestamp of one of its traces, so a window of the index from row
// L up names, through its traces' sessions, every session last seen after
// L's timestamp. Those sessions are summed over all their traces and kept
// when last seen in the window's span. The next window starts at L's
// timestamp (sessions last seen then may have their trace below L).

// ListSessions returns one page of sessions, most recently active first
// (last seen, then session id, descending), each with the ids of its
// traces, and days on which all their traces have rows (every day when the
// read did not tell). Usage and cost are not filled: see SessionTraceStats.
func (s *Store) ListSessions(ctx context.Context, projectID string, f query.SessionFilter, page query.Page) ([]query.SessionRow, query.Days, error) {
	// A user's sessions are those of the user's traces, found by index.
	if f.UserID != "" || (page.After != nil && page.After.TS == 0) {
		return s.sessionPage(ctx, projectID, f, page, 0, nil)
	}
	var upper *query.Cursor
	if page.After != nil {
		upper = &query.Cursor{TS: page.After.TS + 1}
	}
	return windowed(ctx, s, projectID, traceTimes, sessionsYieldKey(projectID, f.Time), upper, page.Limit, f.Time == query.TimeRange{},
		func(lower *query.Cursor) *query.Cursor { return &query.Cursor{TS: lower.TS + 1} },
		func(w *window, below *query.Cursor, n int) ([]query.SessionRow, query.Days, error) {
			var before uint64
			if below != nil {
				before = below.TS
			}
			return s.sessionPage(ctx, projectID, f, query.Page{After: page.After, Limit: n}, before, w)
		})
}

// traceTimes is the traces' time index, as sessions read it. A session's
// traces lie close in time, so a window names fewer sessions last seen in
// it than it holds traces: the first window reads sessionWindowRows index
// rows per session of the page (at 10M observations, ~10 traces per
// session, twice the page in traces yielded 32 of 51 sessions and a second
// window was read; four times fills it: page 1, 411–479 → 282–305 ms).
var traceTimes = func() listSpec {
	spec := traceList(query.TraceFilter{})
	spec.perRow = sessionWindowRows
	return spec
}()

const sessionWindowRows = 4

// sessionPage returns up to page.Limit sessions after page.After that are
// last seen before below (0: no bound), with their traces: those of a
// window's traces when w is set (and last seen after its lower row's
// timestamp), else of every trace with a session; and the days their
// traces' rows were read on (every day for every trace with a session).
func (s *Store) sessionPage(ctx context.Context, projectID string, f query.SessionFilter, page query.Page, below uint64, w *window) ([]query.SessionRow, query.Days, error) {
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
	if below != 0 {
		having.add("last_seen < ?", below)
	}
	// The candidate sessions are read once and sent with the queries that
	// read them as an external table: written into each of them as a
	// subquery, ClickHouse evaluated it in each (twice in the listing),
	// and as a literal list its text would grow with the candidates.
	var candidates *sqlQuery
	if w == nil && f.UserID != "" {
		// The sessions of any version of the user's traces: a superset
		// of the user's sessions (the HAVING above keeps those).
		candidates = sessionsOf("user sessions", projectID).add("("+refTraces(chschema.RefUser)+")", projectID, f.UserID)
	}
	if w != nil {
		if w.lower != nil {
			having.add("last_seen > ?", w.lower.TS)
		}
		// The sessions of any version of the window's traces: a superset
		// of their merged sessions, read without a merge.
		days, err := s.windowDays(ctx, projectID, traceTimes, w)
		if err != nil {
			return nil, query.Days{}, err
		}
		candidates = sessionsOf("window sessions", projectID)
		windowKeys(candidates, projectID, traceTimes, w)
		within, args := onDays(days)
		candidates.add(within, args...)
	}
	// The sessions' traces lie close in time (every day for every session).
	var (
		set  string
		days query.Days
	)
	if candidates != nil {
		var (
			n   int
			err error
		)
		if ctx, n, err = s.withSessions(ctx, candidates); err != nil || n == 0 {
			return nil, query.Days{}, err
		}
		set = candidateSessions
		if days, _, err = s.traceDaysIn(ctx, projectID, sessionsTraces+" AND value IN "+set+")", []any{projectID}); err != nil {
			return nil, days, err
		}
	}
	q := newQuery("list sessions").add("SELECT " + mSessionID + ", " + sessionSummary + " FROM (")
	sessionTraces(q, projectID, set, nil, days)
	q.add(") GROUP BY "+mSessionID).
		addConds("HAVING", &having).
		add("ORDER BY last_seen DESC, "+mSessionID+" DESC LIMIT ?", page.Limit)
	rows, err := s.query(ctx, q)
	if err != nil {
		return nil, days, err
	}
	defer rows.Close()
	var out []query.SessionRow
	for rows.Next() {
		var (
			id string
			v  summary
		)
		if err := rows.Scan(append([]any{&id}, v.dest()...)...); err != nil {
			return nil, days, fmt.Errorf("scan session: %w", err)
		}
		out = append(out, v.row(projectID, id))
	}
	if err := rows.Err(); err != nil {
		return nil, days, fmt.Errorf("read sessions: %w", err)
	}
	return out, days, nil
}

// sessionsOf selects the sessions named by any version of the project's
// traces whose ids the caller appends (the right side of an IN).
func sessionsOf(name, projectID string) *sqlQuery {
	return newQuery(name).add("SELECT DISTINCT "+chschema.ColSessionID+" FROM "+tracesTable+" "+inProjectRows+" AND "+
		chschema.ColSessionID+" != '' AND "+chschema.ColID+" IN", projectID)
}

// candidateSessions is the external table of the session ids withSessions
// read, for the right side of an IN.
const candidateSessions = "candidate_sessions"

// withSessions reads the session ids q selects (one column) and returns
// ctx carrying them as the external table candidateSessions, for the
// queries run with it, and how many there are.
func (s *Store) withSessions(ctx context.Context, q *sqlQuery) (context.Context, int, error) {
	t, err := ext.NewTable(candidateSessions, ext.Column("id", "String"))
	if err != nil {
		return ctx, 0, fmt.Errorf("%s: %w", q.name, err)
	}
	rows, err := s.query(ctx, q)
	if err != nil {
		return ctx, 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return ctx, 0, fmt.Errorf("scan %s: %w", q.name, err)
		}
		if err := t.Append(id); err != nil {
			return ctx, 0, fmt.Errorf("%s: %w", q.name, err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return ctx, 0, fmt.Errorf("read %s: %w", q.name, err)
	}
	return clickhouse.Context(ctx, clickhouse.WithExternalTable(t)), n, nil
}

// SessionDays is the span of days on which the traces with a version
// naming one of the sessions have rows (every day when none has): a
// session's traces lie close in time, so its reads touch a month or two
// however many the project holds.
func (s *Store) SessionDays(ctx context.Context, projectID string, sessionIDs []string) (query.Days, error) {
	if len(sessionIDs) == 0 {
		return query.Days{}, nil
	}
	days, _, err := s.traceDaysIn(ctx, projectID, sessionsTraces+" AND value IN ?)", []any{projectID, set(sessionIDs)})
	return days, err
}

// SessionTraces merges one page of the traces of one session, oldest first
// (merged timestamp, then id): the first page.Limit after page.After. The
// page is picked on the narrow merged columns (id, session, timestamp) and
// only its traces are merged whole, their rows read on days.
func (s *Store) SessionTraces(ctx context.Context, projectID, sessionID string, days query.Days, page query.Page) ([]*commonv1.Trace, error) {
	var after conds
	if page.After != nil {
		after.add("("+mTimestamp+", "+chschema.ColID+") > (?, ?)", page.After.TS, page.After.ID)
	}
	id := chschema.ColID
	within, dayArgs := onDays(days)
	q := newQuery("session traces").
		add("SELECT "+chschema.MergedTraceColumns+" FROM "+tracesTable).
		add(inProjectRows+within+" AND "+id+" IN (SELECT "+id+" FROM (SELECT "+
			chschema.List(id, chschema.MergeString(chschema.ColSessionID), chschema.MergeUint(chschema.ColTimestamp))+" FROM "+tracesTable,
			append([]any{projectID}, dayArgs...)...).
		add(inProjectRows+within+" AND "+id+" IN "+sessionsTraces+" AND value = ?)",
			slices.Concat([]any{projectID}, dayArgs, []any{projectID, sessionID})...).
		add(byID+" HAVING "+eq(mSessionID), sessionID).
		addConds("AND", &after).
		add("ORDER BY "+mTimestamp+", "+id+" LIMIT ?))", page.Limit).
		add(byID + " ORDER BY " + mTimestamp + ", " + id)
	return s.traces(ctx, q, projectID)
}

// Session summarizes one session (trace count, first and last seen,
// users) from its traces' rows on days, with the ids of its traces; found
// is false when no trace's merged session names it. Usage and cost are not
// filled: see SessionTraceStats.
func (s *Store) Session(ctx context.Context, projectID, sessionID string, days query.Days) (query.SessionRow, bool, error) {
	q := newQuery("session").add("SELECT " + sessionSummary + " FROM (")
	sessionTraces(q, projectID, "(?)", []any{sessionID}, days)
	q.add(")")
	var v summary
	if err := s.scanOne(ctx, q, v.dest()...); err != nil {
		return query.SessionRow{}, false, err
	}
	if v.count == 0 {
		return query.SessionRow{}, false, nil
	}
	return v.row(projectID, sessionID), true, nil
}

// sessionSummary summarizes the rows of sessionTraces (of one session, or
// grouped by session) into the columns summary reads.
var sessionSummary = "minIf(" + mTimestamp + ", " + mTimestamp + " != 0) AS first_seen, max(" + mTimestamp + ") AS last_seen," +
	" count() AS trace_count, arraySort(groupUniqArrayIf(" + mUserID + ", " + mUserID + " != '')) AS user_ids," +
	" groupArray(" + chschema.ColID + ") AS trace_ids"

// summary holds sessionSummary's values of one session.
type summary struct {
	first, last, count uint64
	users, traceIDs    []string
}

func (v *summary) dest() []any { return []any{&v.first, &v.last, &v.count, &v.users, &v.traceIDs} }

// row is the session id of the project with these values.
func (v *summary) row(projectID, id string) query.SessionRow {
	sess := &commonv1.Session{Id: id, ProjectId: projectID, TraceCount: int64(v.count),
		FirstSeen: chschema.Timestamp(v.first), LastSeen: chschema.Timestamp(v.last)}
	if len(v.users) > 0 {
		sess.UserIds = v.users
	}
	return query.SessionRow{Session: sess, TraceIDs: v.traceIDs}
}
