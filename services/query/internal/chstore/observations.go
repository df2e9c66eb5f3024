package chstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/agenttrace/agenttrace/pkg/chschema"
	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	"github.com/agenttrace/agenttrace/services/query/internal/query"
)

// An observation's identity is (trace_id, id): every version carries its
// trace id (ingest requires it), which is also how the table is sorted.

// observationsInTrace scopes a read to one trace's observations.
var observationsInTrace = inProjectRows + " AND " + chschema.ColTraceID + " = ?"

// mStartTime is the merged start time, the order of observation lists.
var mStartTime = chschema.Merged(chschema.ColStartTime)

// TraceObservationPage merges one page of a trace's observations, ordered
// by (merged start time, id) ascending: the first page.Limit after
// page.After. One statement in two steps: the inner query picks the page's
// ids on narrow columns (id, start_time and the version), so the wide
// columns (input, output, maps) are read and merged for that page only.
// The ids go to the outer query as a subquery rather than a bound list,
// which could outgrow max_query_size for large pages; ClickHouse still
// narrows the read with it through the sort key (project_id, trace_id, id).
func (s *Store) TraceObservationPage(ctx context.Context, projectID, traceID string, days query.Days, page query.Page, fields query.ObservationFields) ([]*commonv1.Observation, error) {
	id := chschema.ColID
	columns := chschema.MergedObservationColumns
	if fields == query.BasicFields {
		columns = chschema.MergedObservationBasicColumns
	}
	var after conds
	if page.After != nil {
		after.add("("+mStartTime+", "+id+") > (?, ?)", page.After.TS, page.After.ID)
	}
	within, dayArgs := onDays(days)
	inTrace := append([]any{projectID, traceID}, dayArgs...)
	q := newQuery("trace observation page").
		add("SELECT "+columns+" FROM "+observationsTable).
		add(observationsInTrace+within+" AND "+id+" IN", inTrace...).
		add("(SELECT "+id+" FROM (SELECT "+id+", "+chschema.MergeUint(chschema.ColStartTime)+" FROM "+observationsTable).
		add(observationsInTrace+within+" "+byID, inTrace...).
		addConds("HAVING", &after).
		add("ORDER BY "+mStartTime+", "+id+" LIMIT ?))", page.Limit).
		add("GROUP BY " + chschema.ObservationKey)
	obs, err := s.observations(ctx, q, projectID)
	if err != nil {
		return nil, err
	}
	// Sorting the page's pointers here is cheaper than having ClickHouse
	// sort its wide rows.
	slices.SortFunc(obs, func(a, b *commonv1.Observation) int {
		return cmp.Or(compareTimestamps(a.GetStartTime(), b.GetStartTime()), cmp.Compare(a.GetId(), b.GetId()))
	})
	return obs, nil
}

// Observation merges one observation of a trace stored on days.
func (s *Store) Observation(ctx context.Context, projectID, traceID, id string, days query.Days) (*commonv1.Observation, bool, error) {
	within, dayArgs := onDays(days)
	q := newQuery("observation").
		add("SELECT "+chschema.MergedObservationColumns+" FROM "+observationsTable).
		add(observationsInTrace+" AND "+chschema.ColID+" = ?"+within, append([]any{projectID, traceID, id}, dayArgs...)...).
		add("GROUP BY " + chschema.ObservationKey)
	obs, err := s.observations(ctx, q, projectID)
	if err != nil || len(obs) == 0 {
		return nil, false, err
	}
	return obs[0], true, nil
}

// compareTimestamps orders timestamps as the stored nanoseconds do (unset
// first, like the stored 0).
func compareTimestamps(a, b *timestamppb.Timestamp) int {
	return cmp.Or(cmp.Compare(a.GetSeconds(), b.GetSeconds()), cmp.Compare(a.GetNanos(), b.GetNanos()))
}

func (s *Store) observations(ctx context.Context, q *sqlQuery, projectID string) ([]*commonv1.Observation, error) {
	rows, err := s.query(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*commonv1.Observation
	for rows.Next() {
		o, err := chschema.ScanMergedObservation(rows.Scan, projectID)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", q.name, err)
	}
	return out, nil
}

// ListObservations returns one page of merged observations, newest start
// time first (then id, then trace id, descending).
func (s *Store) ListObservations(ctx context.Context, projectID string, f query.ObservationFilter, page query.Page) ([]*commonv1.Observation, error) {
	keys, days, err := s.pageKeys(ctx, projectID, observationList(f), page)
	if err != nil || len(keys) == 0 {
		return nil, err
	}
	traceIDs, ids := make([]string, 0, len(keys)), make([]string, 0, len(keys))
	for _, k := range keys {
		traceIDs = append(traceIDs, k.Tie)
		ids = append(ids, k.ID)
	}
	// trace_id IN narrows the read to the page's traces in the sort key, and
	// their days to their partitions; a pair merged beyond the page (an id
	// of the page in another page trace) is dropped below.
	days, err = s.pageDays(ctx, projectID, traceIDs, days)
	if err != nil {
		return nil, err
	}
	within, dayArgs := onDays(days)
	q := newQuery("observations by id").
		add("SELECT "+chschema.MergedObservationColumns+" FROM "+observationsTable).
		add(inProjectRows+" AND "+chschema.ColTraceID+" IN ? AND "+chschema.ColID+" IN ?"+within,
			append([]any{projectID, set(traceIDs), set(ids)}, dayArgs...)...).
		add("GROUP BY " + chschema.ObservationKey)
	merged, err := s.observations(ctx, q, projectID)
	if err != nil {
		return nil, err
	}
	type key struct{ trace, id string }
	byKey := make(map[key]*commonv1.Observation, len(merged))
	for _, o := range merged {
		byKey[key{o.TraceId, o.Id}] = o
	}
	out := make([]*commonv1.Observation, 0, len(keys))
	for _, k := range keys {
		if o, ok := byKey[key{k.Tie, k.ID}]; ok {
			out = append(out, o)
		}
	}
	return out, nil
}

// observationList is the list of observations that f selects.
func observationList(f query.ObservationFilter) listSpec {
	spec := listSpec{
		name:     "list observations",
		table:    observationsTable,
		key:      chschema.ObservationKey,
		tie:      chschema.ColTraceID,
		sortCol:  mStartTime,
		sortExpr: chschema.MergeUint(chschema.ColStartTime),
		filters:  timeFilter(chschema.ColStartTime, f.Time),
		index:    chschema.ObservationsByTime,
		timeCol:  chschema.ColStartTime,
		traceCol: chschema.ColTraceID,
		times:    f.Time,
	}
	if f.TraceID != "" {
		spec.where.add(eq(chschema.ColTraceID), f.TraceID)
	}
	for _, e := range []struct{ col, v string }{
		{chschema.ColType, enumName(f.Type)}, {chschema.ColLevel, enumName(f.Level)},
		{chschema.ColModel, f.Model}, {chschema.ColName, f.Name},
	} {
		if e.v != "" {
			spec.filters = append(spec.filters, eqFilter(e.col, e.v))
		}
	}
	if f.Search != nil {
		search, within := searchFilter(f.Search)
		spec.filters, spec.within = append(spec.filters, search), within
	}
	return spec
}
