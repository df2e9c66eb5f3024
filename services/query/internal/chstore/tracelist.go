package chstore

import (
	"context"

	"github.com/agenttrace/agenttrace/pkg/chschema"
	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	"github.com/agenttrace/agenttrace/services/query/internal/query"
)

// ListTraces returns the ids of one page of traces, newest timestamp first
// (then id descending), and the days they have rows on; Traces merges them.
func (s *Store) ListTraces(ctx context.Context, projectID string, f query.TraceFilter, page query.Page) ([]string, query.Days, error) {
	keys, days, err := s.pageKeys(ctx, projectID, traceList(projectID, f), page)
	if err != nil || len(keys) == 0 {
		return nil, query.Days{}, err
	}
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.ID
	}
	days, err = s.pageDays(ctx, projectID, ids, days)
	return ids, days, err
}

// traceList is the list of traces of projectID that f selects.
func traceList(projectID string, f query.TraceFilter) listSpec {
	spec := listSpec{
		name:     "list traces",
		table:    tracesTable,
		key:      chschema.ColID,
		tie:      "''",
		sortCol:  mTimestamp,
		sortExpr: chschema.MergeUint(chschema.ColTimestamp),
		filters:  timeFilter(chschema.ColTimestamp, f.Time),
		index:    chschema.TracesByTime,
		timeCol:  chschema.ColTimestamp,
		traceCol: chschema.ColID,
		times:    f.Time,
	}
	for _, e := range []struct{ col, v string }{
		{chschema.ColName, f.Name}, {chschema.ColEnvironment, f.Environment}, {chschema.ColRelease, f.Release},
	} {
		if e.v != "" {
			spec.filters = append(spec.filters, eqFilter(e.col, e.v))
		}
	}
	if f.UserID != "" {
		spec.filters = append(spec.filters, refFilter(chschema.ColUserID, chschema.RefUser, f.UserID))
	}
	if f.SessionID != "" {
		spec.filters = append(spec.filters, refFilter(chschema.ColSessionID, chschema.RefSession, f.SessionID))
	}
	if len(f.Tags) > 0 {
		spec.filters = append(spec.filters, filter{
			row: "hasAny(" + chschema.ColTags + ", ?)", rowArgs: []any{f.Tags},
			merged: chschema.MergeTags, having: "hasAll(" + chschema.Merged(chschema.ColTags) + ", ?)", args: []any{f.Tags},
		})
	}
	if f.Search != nil {
		search, within := searchFilter(f.Search)
		spec.filters, spec.within = append(spec.filters, search), within
	}
	if f.Model != "" {
		spec.filters = append(spec.filters, observationFilter(projectID, chschema.ColModel, f.Model))
	}
	if f.Level != commonv1.ObservationLevel_OBSERVATION_LEVEL_UNSPECIFIED {
		spec.filters = append(spec.filters, observationFilter(projectID, chschema.ColLevel, enumName(f.Level)))
	}
	return spec
}

// observationFilter matches the traces of projectID with an observation
// whose merged col is v. Its index names them: the observations with a
// version that sets v (a scan of col over the project's rows), merged to
// keep those whose newest value still is v; the traces' own merge then
// checks the other filters.
func observationFilter(projectID, col, v string) filter {
	inner := "SELECT " + chschema.List(chschema.ColTraceID, chschema.MergeString(col)) + " FROM " + observationsTable +
		" " + inProjectRows + " AND (" + chschema.ObservationKey + ") IN (SELECT " + chschema.ObservationKey +
		" FROM " + observationsTable + " " + inProjectRows + " AND " + eq(col) + ") GROUP BY " + chschema.ObservationKey
	return filter{
		index:     "SELECT " + chschema.ColTraceID + " FROM (" + inner + ") WHERE " + eq(chschema.Merged(col)),
		indexArgs: []any{projectID, v, v},
	}
}
