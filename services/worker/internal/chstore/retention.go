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
const expiredClause = chschema.ColProjectID + " = ? AND " + chschema.ColEventDate + " < toDate(toDateTime(?))"

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
	for _, t := range chschema.TraceTables {
		table := t.Name
		// Distinct traces: the trace id column of each table.
		rows, err := w.conn.Query(ctx, "SELECT "+chschema.ColProjectID+", count(), uniqExact("+t.TraceColumn+") FROM "+table+
			" WHERE "+where.sql.String()+" GROUP BY "+chschema.ColProjectID, where.args...)
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
			e.Rows[t.Kind] = count
			if t.Kind == chschema.KindTraces {
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
	tables := make([]string, len(chschema.TablesOfTraces))
	for i, t := range chschema.TablesOfTraces {
		tables[i] = t.Name
		if err := w.mutate(ctx, t.Name, where.sql.String(), where.args); err != nil {
			return err
		}
	}
	// The metrics rollups' hours expire with the rows they sum.
	for _, t := range chschema.RollupTables {
		tables = append(tables, t)
		if err := w.mutate(ctx, t, where.sql.String(), where.args); err != nil {
			return err
		}
	}
	w.awaitMutations(ctx, tables)
	return nil
}
