package chstore

import (
	"context"
	"fmt"

	"github.com/agenttrace/agenttrace/pkg/chschema"
	"github.com/agenttrace/agenttrace/services/worker/internal/retention"
)

// A row expires when its event_date (the partition date: the day of
// event_ts in the server's time zone) is before the day of the cutoff in
// that same time zone; both sides use the server's zone, so no row younger
// than the cutoff is ever deleted. The date rather than event_ts lets
// ClickHouse skip whole partitions, and keeps the expired set unchanged
// within a day (see package retention).
const expiredClause = "project_id = ? AND event_date < toDate(toDateTime(?))"

var retentionTables = []string{chschema.Traces, chschema.Observations, chschema.Scores}

func expiredWhere(cutoffs []retention.Cutoff) predicate {
	var where predicate
	for _, c := range cutoffs {
		where.or(expiredClause, c.ProjectID, c.Before.Unix())
	}
	return where
}

// Expired implements retention.Store: one grouped count per table.
func (w *Writer) Expired(ctx context.Context, cutoffs []retention.Cutoff) (map[string]retention.Expired, error) {
	out := map[string]retention.Expired{}
	if len(cutoffs) == 0 {
		return out, nil
	}
	where := expiredWhere(cutoffs)
	for _, table := range retentionTables {
		// Distinct traces: the trace id column of each table.
		traceCol := "trace_id"
		if table == chschema.Traces {
			traceCol = "id"
		}
		rows, err := w.conn.Query(ctx, "SELECT project_id, count(), uniqExact("+traceCol+") FROM "+table+
			" WHERE "+where.sql.String()+" GROUP BY project_id", where.args...)
		if err != nil {
			return nil, fmt.Errorf("count expired rows of %s: %w", table, classify(err))
		}
		for rows.Next() {
			var (
				project       string
				count, traces uint64
			)
			if err := rows.Scan(&project, &count, &traces); err != nil {
				rows.Close()
				return nil, fmt.Errorf("count expired rows of %s: %w", table, err)
			}
			e := out[project]
			if e.Rows == nil {
				e.Rows = map[string]uint64{}
			}
			e.Rows[table] = count
			if table == chschema.Traces {
				e.Traces = traces
			}
			out[project] = e
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("count expired rows of %s: %w", table, err)
		}
	}
	return out, nil
}

// Purge implements retention.Store: one mutation per table for every
// project at once.
func (w *Writer) Purge(ctx context.Context, cutoffs []retention.Cutoff) error {
	if len(cutoffs) == 0 {
		return nil
	}
	where := expiredWhere(cutoffs)
	for _, table := range retentionTables {
		if err := w.mutate(ctx, table, where.sql.String(), where.args); err != nil {
			return err
		}
	}
	w.awaitMutations(ctx, retentionTables)
	return nil
}
