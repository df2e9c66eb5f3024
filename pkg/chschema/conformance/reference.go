package conformance

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/agenttrace/agenttrace/pkg/chschema"
	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
)

// RowWriter is the reference write side: events encoded by chschema's row
// builders and inserted with chschema's tables, one batch per table, as
// the worker's writer does; deletions as ALTER TABLE ... DELETE mutations.
type RowWriter struct{ Conn driver.Conn }

// Write implements Writer.
func (w RowWriter) Write(ctx context.Context, projectID string, events []*ingestv1.IngestEvent) error {
	var (
		traces []chschema.Trace
		obs    []chschema.Observation
		scores []chschema.Score
	)
	for _, ev := range events {
		ts, err := chschema.Nanos(ev.GetTimestamp())
		if err != nil {
			return err
		}
		e := chschema.Event{ProjectID: projectID, ID: ev.GetId(), TS: ts}
		switch {
		case ev.GetTrace() != nil:
			r, err := chschema.TraceRow(e, ev.GetTrace())
			if err != nil {
				return err
			}
			traces = append(traces, r)
		case ev.GetObservation() != nil:
			r, err := chschema.ObservationRow(e, ev.GetObservation())
			if err != nil {
				return err
			}
			obs = append(obs, r)
		case ev.GetScore() != nil:
			r, err := chschema.ScoreRow(e, ev.GetScore())
			if err != nil {
				return err
			}
			scores = append(scores, r)
		default:
			return fmt.Errorf("event %s has no body", ev.GetId())
		}
	}
	at := uint64(time.Now().UnixNano())
	if err := insert(ctx, w.Conn, chschema.TraceTable, traces, at); err != nil {
		return err
	}
	if err := insert(ctx, w.Conn, chschema.ObservationTable, obs, at); err != nil {
		return err
	}
	return insert(ctx, w.Conn, chschema.ScoreTable, scores, at)
}

func insert[R any](ctx context.Context, conn driver.Conn, t chschema.Table[R], rows []R, at uint64) error {
	if len(rows) == 0 {
		return nil
	}
	return t.Insert(ctx, conn, rows, at)
}

// DeleteTrace implements Writer.
func (w RowWriter) DeleteTrace(ctx context.Context, projectID, traceID string) error {
	for _, t := range chschema.TablesOfTraces {
		if err := w.Conn.Exec(ctx, "ALTER TABLE "+t.Name+" DELETE WHERE "+chschema.ColProjectID+" = ? AND "+t.TraceColumn+" = ?",
			projectID, traceID); err != nil {
			return err
		}
	}
	return nil
}

// Purge implements Writer.
func (w RowWriter) Purge(ctx context.Context, projectID string, before time.Time) error {
	for _, t := range chschema.TablesOfTraces {
		if err := w.Conn.Exec(ctx, "ALTER TABLE "+t.Name+" DELETE WHERE "+chschema.ColProjectID+" = ? AND "+
			chschema.ColEventDate+" < toDate(toDateTime(?))", projectID, before.Unix()); err != nil {
			return err
		}
	}
	return nil
}

// MergeReader is the reference read side: chschema's merged column lists
// and scanners, grouped by object, as query's reader does.
type MergeReader struct{ Conn driver.Conn }

// Trace implements Reader.
func (r MergeReader) Trace(ctx context.Context, projectID, traceID string) (*commonv1.Trace, bool, error) {
	out, err := read(ctx, r.Conn, "SELECT "+chschema.MergedTraceColumns+" FROM "+chschema.Traces+
		" WHERE "+chschema.ColProjectID+" = ? AND "+chschema.ColID+" = ? GROUP BY "+chschema.ColID,
		func(s chschema.Scan) (*commonv1.Trace, error) { return chschema.ScanMergedTrace(s, projectID) }, projectID, traceID)
	if err != nil || len(out) == 0 {
		return nil, false, err
	}
	return out[0], true, nil
}

// Observations implements Reader.
func (r MergeReader) Observations(ctx context.Context, projectID, traceID string) ([]*commonv1.Observation, error) {
	return read(ctx, r.Conn, "SELECT "+chschema.MergedObservationColumns+" FROM "+chschema.Observations+
		" WHERE "+chschema.ColProjectID+" = ? AND "+chschema.ColTraceID+" = ? GROUP BY "+chschema.ObservationKey+
		" ORDER BY "+chschema.Merged(chschema.ColStartTime)+", "+chschema.ColID,
		func(s chschema.Scan) (*commonv1.Observation, error) {
			return chschema.ScanMergedObservation(s, projectID)
		},
		projectID, traceID)
}

// Scores implements Reader. A score's trace id is merged like its other
// fields (an update need not repeat it).
func (r MergeReader) Scores(ctx context.Context, projectID, traceID string) ([]*commonv1.Score, error) {
	return read(ctx, r.Conn, "SELECT "+chschema.MergedScoreColumns+" FROM "+chschema.Scores+
		" WHERE "+chschema.ColProjectID+" = ? GROUP BY "+chschema.ColID+
		" HAVING "+chschema.Merged(chschema.ColTraceID)+" = ? ORDER BY "+chschema.Merged(chschema.ColTimestamp)+", "+chschema.ColID,
		func(s chschema.Scan) (*commonv1.Score, error) { return chschema.ScanMergedScore(s, projectID) },
		projectID, traceID)
}

func read[T any](ctx context.Context, conn driver.Conn, sql string, scan func(chschema.Scan) (T, error), args ...any) ([]T, error) {
	rows, err := conn.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
