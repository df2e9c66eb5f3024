package chstore

import (
	"context"
	"fmt"
	"time"

	"github.com/agenttrace/agenttrace/pkg/chschema"
	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	"github.com/agenttrace/agenttrace/services/query/internal/query"
)

// TraceDays is the first and last day on which the traces (at most a page
// of them) have rows (chschema.TraceDates); found is false when none has
// any.
func (s *Store) TraceDays(ctx context.Context, projectID string, traceIDs []string) (days query.Days, found bool, err error) {
	if len(traceIDs) == 0 {
		return query.Days{}, false, nil
	}
	return s.traceDaysIn(ctx, projectID, "?", []any{set(traceIDs)})
}

// traceDaysIn is TraceDays for the traces of the project that traces
// selects: "?" bound to a set of ids, or an SQL subquery.
func (s *Store) traceDaysIn(ctx context.Context, projectID, traces string, args []any) (days query.Days, found bool, err error) {
	q := newQuery("trace days").
		add("SELECT count(), min("+chschema.ColEventDate+"), max("+chschema.ColEventDate+") FROM "+traceDatesTable).
		add(inProjectRows+" AND "+chschema.ColTraceID+" IN "+traces, append([]any{projectID}, args...)...)
	var n uint64
	if err := s.scanOne(ctx, q, &n, &days.First, &days.Last); err != nil {
		return query.Days{}, false, err
	}
	if n == 0 {
		return query.Days{}, false, nil
	}
	return days, true, nil
}

// daysCond holds for the rows stored from one day to another, inclusive:
// bind both as dates (time.DateOnly).
const daysCond = chschema.ColEventDate + " >= toDate(?) AND " + chschema.ColEventDate + " <= toDate(?)"

// onDays narrows a read to the rows stored on days (nothing when it is
// every day), so ClickHouse reads only the partitions that hold them.
func onDays(days query.Days) (string, []any) {
	if days.All() {
		return "", nil
	}
	return " AND " + daysCond, []any{days.First.Format(time.DateOnly), days.Last.Format(time.DateOnly)}
}

// Trace merges the versions of one trace stored on days; found is false
// when it has none.
func (s *Store) Trace(ctx context.Context, projectID, traceID string, days query.Days) (trace *commonv1.Trace, found bool, err error) {
	within, args := onDays(days)
	q := newQuery("trace").
		add("SELECT "+chschema.MergedTraceColumns+" FROM "+tracesTable).
		add(inProjectRows+" AND "+chschema.ColID+" = ?"+within+" "+byID, append([]any{projectID, traceID}, args...)...)
	traces, err := s.traces(ctx, q, projectID)
	if err != nil || len(traces) == 0 {
		return nil, false, err
	}
	return traces[0], true, nil
}

// Traces merges the versions of the given traces (at most a page of them)
// stored on days, by id; a trace without rows there is absent.
func (s *Store) Traces(ctx context.Context, projectID string, ids []string, days query.Days) (map[string]*commonv1.Trace, error) {
	out := make(map[string]*commonv1.Trace, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	within, args := onDays(days)
	q := newQuery("traces by id").
		add("SELECT "+chschema.MergedTraceColumns+" FROM "+tracesTable).
		add(inProjectRows+" AND "+chschema.ColID+" IN ?"+within+" "+byID, append([]any{projectID, set(ids)}, args...)...)
	traces, err := s.traces(ctx, q, projectID)
	if err != nil {
		return nil, err
	}
	for _, t := range traces {
		out[t.Id] = t
	}
	return out, nil
}

func (s *Store) traces(ctx context.Context, q *sqlQuery, projectID string) ([]*commonv1.Trace, error) {
	rows, err := s.query(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*commonv1.Trace
	for rows.Next() {
		t, err := chschema.ScanMergedTrace(rows.Scan, projectID)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", q.name, err)
	}
	return out, nil
}
