package chstore

import (
	"context"
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
)

// traceColumns merge every field of a trace; scanTrace reads them.
var traceColumns = columns(
	"id",
	mergeUint("timestamp"),
	mergeString("name"),
	mergeString("user_id"),
	mergeString("session_id"),
	mergeTags,
	mergeMapVersions("metadata"),
	mergeString("input"),
	mergeString("output"),
	mergeString("release"),
	mergeString("version"),
	mergeString("environment"),
	mergeUpdated,
)

func scanTrace(rows driver.Rows, projectID string) (*commonv1.Trace, error) {
	var (
		t             commonv1.Trace
		ts, updated   uint64
		metadata      []mapVersion
		input, output string
	)
	err := rows.Scan(&t.Id, &ts, &t.Name, &t.UserId, &t.SessionId, &t.Tags, &metadata,
		&input, &output, &t.Release, &t.Version, &t.Environment, &updated)
	if err != nil {
		return nil, fmt.Errorf("scan trace: %w", err)
	}
	t.ProjectId = projectID
	t.Timestamp = timestamp(ts)
	t.Metadata = mergeStringMap(metadata)
	t.Input = jsonValue(input)
	t.Output = jsonValue(output)
	t.UpdatedAt = timestamp(updated)
	if len(t.Tags) == 0 {
		t.Tags = nil
	}
	return &t, nil
}

// Trace merges the versions of one trace; found is false when it has none.
func (s *Store) Trace(ctx context.Context, projectID, traceID string) (trace *commonv1.Trace, found bool, err error) {
	q := newQuery("trace").
		add("SELECT "+traceColumns+" FROM "+tracesTable).
		add("WHERE project_id = ? AND id = ? GROUP BY id", projectID, traceID)
	traces, err := s.traces(ctx, q, projectID)
	if err != nil || len(traces) == 0 {
		return nil, false, err
	}
	return traces[0], true, nil
}

// tracesByID merges the versions of the given traces, in no particular order.
func (s *Store) tracesByID(ctx context.Context, projectID string, ids []string) (map[string]*commonv1.Trace, error) {
	out := make(map[string]*commonv1.Trace, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	q := newQuery("traces by id").
		add("SELECT "+traceColumns+" FROM "+tracesTable).
		add("WHERE project_id = ? AND id IN ? GROUP BY id", projectID, set(ids))
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
		t, err := scanTrace(rows, projectID)
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
