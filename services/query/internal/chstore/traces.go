package chstore

import (
	"context"
	"fmt"

	"github.com/agenttrace/agenttrace/pkg/chschema"
	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
)

// Trace merges the versions of one trace; found is false when it has none.
func (s *Store) Trace(ctx context.Context, projectID, traceID string) (trace *commonv1.Trace, found bool, err error) {
	q := newQuery("trace").
		add("SELECT "+chschema.MergedTraceColumns+" FROM "+tracesTable).
		add(inProjectRows+" AND "+chschema.ColID+" = ? "+byID, projectID, traceID)
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
		add("SELECT "+chschema.MergedTraceColumns+" FROM "+tracesTable).
		add(inProjectRows+" AND "+chschema.ColID+" IN ? "+byID, projectID, set(ids))
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
