package chstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/agenttrace/agenttrace/pkg/chschema"
	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	"github.com/agenttrace/agenttrace/services/query/internal/query"
)

// A score's identity is its id alone: an update need not repeat the trace
// id, so trace_id is merged like any other field and rows with an empty
// trace_id are always considered.

func (s *Store) scores(ctx context.Context, q *sqlQuery, projectID string) ([]*commonv1.Score, error) {
	rows, err := s.query(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*commonv1.Score
	for rows.Next() {
		sc, err := chschema.ScanMergedScore(rows.Scan, projectID)
		if err != nil {
			return nil, err
		}
		out = append(out, sc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", q.name, err)
	}
	return out, nil
}

// TraceScores merges the scores attached to one trace (including those of
// its observations), oldest first.
func (s *Store) TraceScores(ctx context.Context, projectID, traceID string) ([]*commonv1.Score, error) {
	// The sort key reaches the trace's rows and the rows without a trace id;
	// of the latter only updates of this trace's scores take part.
	id, traceCol := chschema.ColID, chschema.ColTraceID
	q := newQuery("trace scores").
		add("SELECT "+chschema.MergedScoreColumns+" FROM "+scoresTable).
		add(inProjectRows+" AND ("+traceCol+" = ? OR ("+traceCol+" = '' AND "+id+" IN", projectID, traceID).
		add("(SELECT "+id+" FROM "+scoresTable+" "+inProjectRows+" AND "+traceCol+" = ?)))", projectID, traceID).
		add(byID+" HAVING "+chschema.Merged(traceCol)+" = ? ORDER BY "+mTimestamp+", "+id, traceID)
	return s.scores(ctx, q, projectID)
}

// TracesScores merges the scores attached to the given traces (a page of
// them; including those of their observations), oldest first, by trace.
func (s *Store) TracesScores(ctx context.Context, projectID string, traceIDs []string) (map[string][]*commonv1.Score, error) {
	out := map[string][]*commonv1.Score{}
	if len(traceIDs) == 0 {
		return out, nil
	}
	// As TraceScores, for a set of traces.
	id, traceCol, ids := chschema.ColID, chschema.ColTraceID, set(traceIDs)
	q := newQuery("traces scores").
		add("SELECT "+chschema.MergedScoreColumns+" FROM "+scoresTable).
		add(inProjectRows+" AND ("+traceCol+" IN ? OR ("+traceCol+" = '' AND "+id+" IN", projectID, ids).
		add("(SELECT "+id+" FROM "+scoresTable+" "+inProjectRows+" AND "+traceCol+" IN ?)))", projectID, ids).
		add(byID+" HAVING "+chschema.Merged(traceCol)+" IN ? ORDER BY "+mTimestamp+", "+id, ids)
	scores, err := s.scores(ctx, q, projectID)
	if err != nil {
		return nil, err
	}
	for _, sc := range scores {
		out[sc.GetTraceId()] = append(out[sc.GetTraceId()], sc)
	}
	return out, nil
}

// SessionScores merges the scores of a session: those attached to the
// session itself and those of the given traces (a page of the session's),
// oldest first.
func (s *Store) SessionScores(ctx context.Context, projectID, sessionID string, traceIDs []string) ([]*commonv1.Score, error) {
	var rowMatch, merged conds
	rowMatch.add(eq(chschema.ColSessionID), sessionID)
	merged.add(eq(chschema.Merged(chschema.ColSessionID)), sessionID)
	if len(traceIDs) > 0 {
		rowMatch.add(chschema.ColTraceID+" IN ?", set(traceIDs))
		merged.add(chschema.Merged(chschema.ColTraceID)+" IN ?", set(traceIDs))
	}
	id := chschema.ColID
	q := newQuery("session scores").
		add("SELECT "+chschema.MergedScoreColumns+" FROM "+scoresTable).
		add(inProjectRows+" AND "+id+" IN (SELECT "+id+" FROM "+scoresTable, projectID).
		add(inProjectRows+" AND ("+strings.Join(rowMatch.parts, " OR ")+"))", append([]any{projectID}, rowMatch.args...)...).
		add(byID+" HAVING "+strings.Join(merged.parts, " OR "), merged.args...).
		add("ORDER BY " + mTimestamp + ", " + id)
	return s.scores(ctx, q, projectID)
}

// ListScores returns one page of merged scores, newest timestamp first (then id).
func (s *Store) ListScores(ctx context.Context, projectID string, f query.ScoreFilter, page query.Page) ([]*commonv1.Score, error) {
	spec := listSpec{
		name:     "list scores",
		table:    scoresTable,
		key:      chschema.ColID,
		tie:      "''",
		sortCol:  mTimestamp,
		sortExpr: chschema.MergeUint(chschema.ColTimestamp),
		filters:  timeFilter(chschema.ColTimestamp, f.Time),
	}
	for _, e := range []struct{ col, v string }{
		{chschema.ColTraceID, f.TraceID}, {chschema.ColObservationID, f.ObservationID},
		{chschema.ColSessionID, f.SessionID}, {chschema.ColName, f.Name},
		{chschema.ColSource, enumName(f.Source)}, {chschema.ColDataType, enumName(f.DataType)},
	} {
		if e.v != "" {
			spec.filters = append(spec.filters, eqFilter(e.col, e.v))
		}
	}
	keys, _, err := s.pageKeys(ctx, projectID, spec, page)
	if err != nil || len(keys) == 0 {
		return nil, err
	}
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.ID
	}
	q := newQuery("scores by id").
		add("SELECT "+chschema.MergedScoreColumns+" FROM "+scoresTable).
		add(inProjectRows+" AND "+chschema.ColID+" IN ? "+byID, projectID, set(ids))
	merged, err := s.scores(ctx, q, projectID)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*commonv1.Score, len(merged))
	for _, sc := range merged {
		byID[sc.Id] = sc
	}
	out := make([]*commonv1.Score, 0, len(keys))
	for _, k := range keys {
		if sc, ok := byID[k.ID]; ok {
			out = append(out, sc)
		}
	}
	return out, nil
}

// enumName is the stored form of an enum a filter names, ” (no filter)
// for the unspecified value. A number no stored name has (the domain
// refuses those) becomes its digits, which match no row rather than
// dropping the filter.
func enumName(v protoreflect.Enum) string {
	name, err := chschema.EnumName(v)
	if err != nil {
		return strconv.Itoa(int(v.Number()))
	}
	return name
}
