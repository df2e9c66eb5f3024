package chstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
)

// An observation's identity is (trace_id, id): every version carries its
// trace id (ingest requires it), which is also how the table is sorted.

// observationColumns merge every field of an observation; scanObservation reads them.
var observationColumns = columns(
	"id",
	"trace_id",
	mergeString("parent_observation_id"),
	mergeString("type"),
	mergeString("name"),
	mergeUint("start_time"),
	mergeUint("end_time"),
	mergeUint("completion_start_time"),
	mergeString("level"),
	mergeString("status_message"),
	mergeString("model"),
	mergeMapVersions("model_parameters"),
	mergeNullable("usage_input"),
	mergeNullable("usage_output"),
	mergeNullable("usage_total"),
	mergeMapVersions("usage_details"),
	mergeNullable("cost_input"),
	mergeNullable("cost_output"),
	mergeNullable("cost_total"),
	mergeString("input"),
	mergeString("output"),
	mergeMapVersions("metadata"),
	mergeString("version"),
	mergeString("environment"),
	mergeUpdated,
)

func scanObservation(rows driver.Rows, projectID string) (*commonv1.Observation, error) {
	var (
		o                           commonv1.Observation
		typ, level, input, output   string
		start, end, completion, upd uint64
		params, details, metadata   []mapVersion
		usageIn, usageOut, usageTot *int64
		costIn, costOut, costTot    *float64
	)
	err := rows.Scan(&o.Id, &o.TraceId, &o.ParentObservationId, &typ, &o.Name,
		&start, &end, &completion, &level, &o.StatusMessage, &o.Model, &params,
		&usageIn, &usageOut, &usageTot, &details, &costIn, &costOut, &costTot,
		&input, &output, &metadata, &o.Version, &o.Environment, &upd)
	if err != nil {
		return nil, fmt.Errorf("scan observation: %w", err)
	}
	o.ProjectId = projectID
	o.Type = observationType(typ)
	o.Level = observationLevel(level)
	o.StartTime, o.EndTime, o.CompletionStartTime = timestamp(start), timestamp(end), timestamp(completion)
	o.ModelParameters = mergeStringMap(params)
	o.Usage = usage(usageIn, usageOut, usageTot, mergeInt64Map(details))
	o.Cost = cost(costIn, costOut, costTot)
	o.Input, o.Output = jsonValue(input), jsonValue(output)
	o.Metadata = mergeStringMap(metadata)
	o.UpdatedAt = timestamp(upd)
	return &o, nil
}

// TraceObservationPage merges one page of a trace's observations, ordered
// by (merged start time, id) ascending: the first page.Limit after
// page.After. One statement in two steps: the inner query picks the page's
// ids on narrow columns (id, start_time and the version), so the wide
// columns (input, output, maps) are read and merged for that page only.
// The ids go to the outer query as a subquery rather than a bound list,
// which could outgrow max_query_size for large pages; ClickHouse still
// narrows the read with it through the sort key (project_id, trace_id, id).
func (s *Store) TraceObservationPage(ctx context.Context, projectID, traceID string, page Page) ([]*commonv1.Observation, error) {
	var after conds
	if page.After != nil {
		after.add("(m_start_time, id) > (?, ?)", page.After.TS, page.After.ID)
	}
	q := newQuery("trace observation page").
		add("SELECT "+observationColumns+" FROM "+observationsTable).
		add("WHERE project_id = ? AND trace_id = ? AND id IN", projectID, traceID).
		add("(SELECT id FROM (SELECT id, "+mergeUint("start_time")+" FROM "+observationsTable).
		add("WHERE project_id = ? AND trace_id = ? GROUP BY id", projectID, traceID).
		addConds("HAVING", &after).
		add("ORDER BY m_start_time, id LIMIT ?))", page.Limit).
		add("GROUP BY trace_id, id")
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
		o, err := scanObservation(rows, projectID)
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

// ObservationFilter selects observations by their merged values; zero
// fields match all.
type ObservationFilter struct {
	TraceID string
	Type    commonv1.ObservationType
	Model   string
	Level   commonv1.ObservationLevel
	Name    string
	Time    TimeRange // on start_time
}

// ListObservations returns one page of merged observations, newest start
// time first (then id, then trace id, descending).
func (s *Store) ListObservations(ctx context.Context, projectID string, f ObservationFilter, page Page) ([]*commonv1.Observation, error) {
	spec := listSpec{
		name:     "list observations",
		table:    observationsTable,
		key:      "trace_id, id",
		tie:      "trace_id",
		sortCol:  "m_start_time",
		sortExpr: mergeUint("start_time"),
		filters:  timeFilter("start_time", f.Time),
	}
	if f.TraceID != "" {
		spec.where.add("trace_id = ?", f.TraceID)
	}
	if f.Type != commonv1.ObservationType_OBSERVATION_TYPE_UNSPECIFIED {
		spec.filters = append(spec.filters, eqFilter("type", strings.TrimPrefix(f.Type.String(), "OBSERVATION_TYPE_")))
	}
	if f.Level != commonv1.ObservationLevel_OBSERVATION_LEVEL_UNSPECIFIED {
		spec.filters = append(spec.filters, eqFilter("level", strings.TrimPrefix(f.Level.String(), "OBSERVATION_LEVEL_")))
	}
	if f.Model != "" {
		spec.filters = append(spec.filters, eqFilter("model", f.Model))
	}
	if f.Name != "" {
		spec.filters = append(spec.filters, eqFilter("name", f.Name))
	}
	keys, err := s.pageKeys(ctx, projectID, spec, page)
	if err != nil || len(keys) == 0 {
		return nil, err
	}
	traceIDs, ids := make([]string, 0, len(keys)), make([]string, 0, len(keys))
	for _, k := range keys {
		traceIDs = append(traceIDs, k.Tie)
		ids = append(ids, k.ID)
	}
	// trace_id IN narrows the read to the page's traces in the sort key; a
	// pair merged beyond the page (an id of the page in another page trace)
	// is dropped below.
	q := newQuery("observations by id").
		add("SELECT "+observationColumns+" FROM "+observationsTable).
		add("WHERE project_id = ? AND trace_id IN ? AND id IN ?", projectID, set(traceIDs), set(ids)).
		add("GROUP BY trace_id, id")
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
