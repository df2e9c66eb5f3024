package chstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
)

// A score's identity is its id alone: an update need not repeat the trace
// id, so trace_id is merged like any other field and rows with an empty
// trace_id are always considered.

// scoreColumns merge every field of a score; scanScore reads them.
var scoreColumns = columns(
	"id",
	mergeString("trace_id"),
	mergeString("observation_id"),
	mergeString("session_id"),
	mergeString("name"),
	mergeString("data_type"),
	mergeNullable("value"),
	mergeString("string_value"),
	mergeString("comment"),
	mergeString("source"),
	mergeUint("timestamp"),
	mergeMapVersions("metadata"),
	mergeString("environment"),
	mergeUpdated,
)

func scanScore(rows driver.Rows, projectID string) (*commonv1.Score, error) {
	var (
		sc               commonv1.Score
		dataType, source string
		value            *float64
		ts, upd          uint64
		metadata         []mapVersion
	)
	err := rows.Scan(&sc.Id, &sc.TraceId, &sc.ObservationId, &sc.SessionId, &sc.Name, &dataType,
		&value, &sc.StringValue, &sc.Comment, &source, &ts, &metadata, &sc.Environment, &upd)
	if err != nil {
		return nil, fmt.Errorf("scan score: %w", err)
	}
	sc.ProjectId = projectID
	sc.DataType = scoreDataType(dataType)
	if value != nil {
		sc.Value = *value
	}
	sc.Source = scoreSource(source)
	sc.Timestamp = timestamp(ts)
	sc.Metadata = mergeStringMap(metadata)
	sc.UpdatedAt = timestamp(upd)
	return &sc, nil
}

func (s *Store) scores(ctx context.Context, q *sqlQuery, projectID string) ([]*commonv1.Score, error) {
	rows, err := s.query(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*commonv1.Score
	for rows.Next() {
		sc, err := scanScore(rows, projectID)
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
	q := newQuery("trace scores").
		add("SELECT "+scoreColumns+" FROM "+scoresTable).
		add("WHERE project_id = ? AND (trace_id = ? OR (trace_id = '' AND id IN", projectID, traceID).
		add("(SELECT id FROM "+scoresTable+" WHERE project_id = ? AND trace_id = ?)))", projectID, traceID).
		add("GROUP BY id HAVING m_trace_id = ? ORDER BY m_timestamp, id", traceID)
	return s.scores(ctx, q, projectID)
}

// SessionScores merges the scores of a session: those attached to the
// session itself and those of its traces, oldest first.
func (s *Store) SessionScores(ctx context.Context, projectID, sessionID string, traceIDs []string) ([]*commonv1.Score, error) {
	var rowMatch, merged conds
	rowMatch.add("session_id = ?", sessionID)
	merged.add("m_session_id = ?", sessionID)
	if len(traceIDs) > 0 {
		rowMatch.add("trace_id IN ?", set(traceIDs))
		merged.add("m_trace_id IN ?", set(traceIDs))
	}
	q := newQuery("session scores").
		add("SELECT "+scoreColumns+" FROM "+scoresTable).
		add("WHERE project_id = ? AND id IN (SELECT id FROM "+scoresTable, projectID).
		add("WHERE project_id = ? AND ("+strings.Join(rowMatch.parts, " OR ")+"))", append([]any{projectID}, rowMatch.args...)...).
		add("GROUP BY id HAVING "+strings.Join(merged.parts, " OR "), merged.args...).
		add("ORDER BY m_timestamp, id")
	return s.scores(ctx, q, projectID)
}

// ScoreFilter selects scores by their merged values; zero fields match all.
type ScoreFilter struct {
	TraceID       string
	ObservationID string
	SessionID     string
	Name          string
	Source        commonv1.ScoreSource
	DataType      commonv1.ScoreDataType
	Time          TimeRange // on the score timestamp
}

// ListScores returns one page of merged scores, newest timestamp first (then id).
func (s *Store) ListScores(ctx context.Context, projectID string, f ScoreFilter, page Page) ([]*commonv1.Score, error) {
	spec := listSpec{
		name:     "list scores",
		table:    scoresTable,
		key:      "id",
		tie:      "''",
		sortCol:  "m_timestamp",
		sortExpr: mergeUint("timestamp"),
		filters:  timeFilter("timestamp", f.Time),
	}
	for _, eq := range []struct{ col, v string }{
		{"trace_id", f.TraceID}, {"observation_id", f.ObservationID}, {"session_id", f.SessionID}, {"name", f.Name},
		{"source", enumName(f.Source.String(), "SCORE_SOURCE_", f.Source != 0)},
		{"data_type", enumName(f.DataType.String(), "SCORE_DATA_TYPE_", f.DataType != 0)},
	} {
		if eq.v != "" {
			spec.filters = append(spec.filters, eqFilter(eq.col, eq.v))
		}
	}
	keys, err := s.pageKeys(ctx, projectID, spec, page)
	if err != nil || len(keys) == 0 {
		return nil, err
	}
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.ID
	}
	q := newQuery("scores by id").
		add("SELECT "+scoreColumns+" FROM "+scoresTable).
		add("WHERE project_id = ? AND id IN ? GROUP BY id", projectID, set(ids))
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

// enumName is the stored form of a set enum value: its name without the
// type prefix; "" when unset.
func enumName(name, prefix string, set bool) string {
	if !set {
		return ""
	}
	return strings.TrimPrefix(name, prefix)
}
