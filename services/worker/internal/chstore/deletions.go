package chstore

import (
	"context"
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/agenttrace/agenttrace/pkg/chschema"
	"github.com/agenttrace/agenttrace/services/worker/internal/eventrows"
)

// deleteTraces removes every row of the deleted traces from every table
// that holds them (chschema.TablesOfTraces): one mutation per table for
// the whole list (grouped by project), split only when the list is very
// long, since each mutation rewrites table parts and many small ones cost
// far more than one large one.
func (w *Writer) deleteTraces(ctx context.Context, dels []eventrows.Deletion) error {
	if len(dels) == 0 {
		return nil
	}
	if err := w.markRollupHours(ctx, dels); err != nil {
		return err
	}
	tables := make([]string, len(chschema.TablesOfTraces))
	for i, t := range chschema.TablesOfTraces {
		tables[i] = t.Name
		for _, chunk := range chunkDeletions(dels) {
			where := tracesOf(chunk, t.TraceColumn)
			if err := w.mutate(ctx, t.Name, where.sql.String(), where.args); err != nil {
				return err
			}
		}
	}
	w.awaitMutations(ctx, tables)
	w.metrics.deletedTraces.WithLabelValues(reasonRequest).Add(float64(countDistinct(dels)))
	return nil
}

// markRollupHours marks, before the deletion, the hours of the deleted
// traces' observations for the metrics rollup to compute again once the
// deletion has been applied (see package rollup); afterwards nothing would
// tell them.
func (w *Writer) markRollupHours(ctx context.Context, dels []eventrows.Deletion) error {
	markedAt := uint64(w.now().UnixNano())
	for _, chunk := range chunkDeletions(dels) {
		where := tracesOf(chunk, chschema.ColTraceID)
		hour := chschema.HourOf(chschema.ColStartTime)
		sql := "INSERT INTO " + chschema.RollupMarks + " (" + chschema.List(chschema.ColProjectID, "view", "hour", "marked_at") + ")" +
			" SELECT DISTINCT " + chschema.List(chschema.ColProjectID, "?", hour, "?") + " FROM " + chschema.Observations +
			" PREWHERE " + where.sql.String() + " WHERE " + chschema.ColStartTime + " != 0"
		args := append([]any{chschema.RollupViewObservations, markedAt}, where.args...)
		if err := w.conn.Exec(ctx, sql, args...); err != nil {
			return fmt.Errorf("mark the deleted traces' hours for the metrics rollup: %w", classify(err))
		}
	}
	return nil
}

// tracesOf matches the rows of a chunk's traces in a table whose trace id
// column is traceColumn.
func tracesOf(chunk []projectIDs, traceColumn string) predicate {
	var where predicate
	for _, g := range chunk {
		where.or(chschema.ColProjectID+" = ? AND "+traceColumn+" IN ?", g.project, clickhouse.GroupSet{Value: g.ids})
	}
	return where
}

// projectIDs is one project's trace ids in a mutation.
type projectIDs struct {
	project string
	ids     []any
}

// chunkDeletions groups deletions by project, dropping repeats, in order of
// first appearance, and cuts the groups into chunks whose ids stay within
// maxPredicateBytes.
func chunkDeletions(dels []eventrows.Deletion) [][]projectIDs {
	type key struct{ project, trace string }
	seen := make(map[key]bool, len(dels))
	var (
		chunks [][]projectIDs
		cur    []projectIDs
		index  = map[string]int{} // project -> position in cur
		size   int
	)
	for _, d := range dels {
		k := key{d.ProjectID, d.TraceID}
		if seen[k] {
			continue
		}
		seen[k] = true
		n := len(d.TraceID) + len(d.ProjectID) + 8 // quotes, separators, the clause
		if size+n > maxPredicateBytes && len(cur) > 0 {
			chunks = append(chunks, cur)
			cur, index, size = nil, map[string]int{}, 0
		}
		i, ok := index[d.ProjectID]
		if !ok {
			i = len(cur)
			index[d.ProjectID] = i
			cur = append(cur, projectIDs{project: d.ProjectID})
		}
		cur[i].ids = append(cur[i].ids, d.TraceID)
		size += n
	}
	if len(cur) > 0 {
		chunks = append(chunks, cur)
	}
	return chunks
}

func countDistinct(dels []eventrows.Deletion) int {
	seen := make(map[eventrows.Deletion]bool, len(dels))
	for _, d := range dels {
		seen[d] = true
	}
	return len(seen)
}
