package chstore

import (
	"context"

	"github.com/agenttrace/agenttrace/pkg/chschema"
	"github.com/agenttrace/agenttrace/services/query/internal/query"
)

// ListTraces returns the ids of one page of traces, newest timestamp first
// (then id descending), and the days they have rows on; Traces merges them.
func (s *Store) ListTraces(ctx context.Context, projectID string, f query.TraceFilter, page query.Page) ([]string, query.Days, error) {
	keys, days, err := s.pageKeys(ctx, projectID, traceList(f), page)
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

// traceList is the list of traces that f selects.
func traceList(f query.TraceFilter) listSpec {
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
	return spec
}
