package chstore

import (
	"context"
	"fmt"
	"slices"

	"github.com/agenttrace/agenttrace/pkg/chschema"
	"github.com/agenttrace/agenttrace/services/query/internal/query"
)

// traceSet is the set of traces a statistics query covers, as the right
// side of `trace_id IN`: a page of ids bound as one tuple (and the days
// their rows are read on), or a subquery (the traces of a page of
// sessions), so that no query's text grows with the data (a session may
// hold a hundred thousand traces).
type traceSet struct {
	sql  string
	args []any
}

// idSet is the traces with the given ids (at most a page of them), their
// rows read on days.
func idSet(ids []string, days query.Days) traceSet {
	within, args := onDays(days)
	return traceSet{"?" + within, append([]any{set(ids)}, args...)}
}

// sessionSet is every trace one of whose versions names one of the
// sessions, their rows read on days; the caller keeps those whose merged
// session matches.
func sessionSet(projectID string, sessionIDs []string, days query.Days) traceSet {
	within, args := onDays(days)
	return traceSet{sessionsTraces + " AND value IN ?)" + within, append([]any{projectID, set(sessionIDs)}, args...)}
}

// allTraces is every trace of the project (the metrics API's trace view).
var allTraces = traceSet{}

// traceTotals sums the merged observations of each trace; the inner query
// merges each observation once, so duplicates and update rows count once.
// Each observation's total is EffectiveUsageTotal, so one that reported
// input and output but no total still counts. The columns are named (n,
// sum_usage_input, ..., min_start, max_end, updated) for queries that wrap
// it. A list's totals (full) add how many observations are at level ERROR
// and WARNING, the distinct models (at most query.MaxTraceModels) and, last, the
// usage detail versions of every observation of the trace
// (chschema.MergeMapVersionsOf, by id), whose newest value per key
// traceStats sums in Go: summed here, they would need the rows read a
// second time with an ARRAY JOIN.
func traceTotals(traces traceSet, full bool) string {
	m := chschema.Merged
	sum := func(col, alias string) string { return "toNullable(sum(" + col + ")) AS " + alias }
	in := ""
	if traces.sql != "" {
		in = " AND " + chschema.ColTraceID + " IN " + traces.sql
	}
	outer := []string{chschema.ColTraceID, "toInt64(count()) AS n",
		sum(m(chschema.ColUsageInput), "sum_usage_input"), sum(m(chschema.ColUsageOutput), "sum_usage_output"),
		sum(chschema.EffectiveUsageTotal, "sum_usage_total"),
		sum(m(chschema.ColCostInput), "sum_cost_input"), sum(m(chschema.ColCostOutput), "sum_cost_output"),
		sum(m(chschema.ColCostTotal), "sum_cost_total"),
		"minIf(" + m(chschema.ColStartTime) + ", " + m(chschema.ColStartTime) + " != 0) AS min_start",
		"max(" + m(chschema.ColEndTime) + ") AS max_end", "max(" + chschema.MergedUpdated + ") AS updated"}
	inner := []string{chschema.ColTraceID, chschema.ColID,
		chschema.MergeNullable(chschema.ColUsageInput), chschema.MergeNullable(chschema.ColUsageOutput),
		chschema.MergeNullable(chschema.ColUsageTotal), chschema.MergeNullable(chschema.ColCostInput),
		chschema.MergeNullable(chschema.ColCostOutput), chschema.MergeNullable(chschema.ColCostTotal),
		chschema.MergeUint(chschema.ColStartTime), chschema.MergeUint(chschema.ColEndTime), chschema.MergeUpdated}
	if full {
		level, model := m(chschema.ColLevel), m(chschema.ColModel)
		inner = append(inner, chschema.MergeString(chschema.ColLevel), chschema.MergeString(chschema.ColModel))
		outer = append(outer, "toInt64(countIf("+level+" = 'ERROR')) AS n_error", "toInt64(countIf("+level+" = 'WARNING')) AS n_warning",
			fmt.Sprintf("arraySlice(groupUniqArrayIf(%s, %s != ''), 1, %d) AS models", model, model, query.MaxTraceModels))
		versions := m(chschema.UsageDetails.Name)
		inner = append(inner, chschema.MergeMapVersionsOf(chschema.ColID, chschema.UsageDetails, versions))
		outer = append(outer, "groupArrayArray("+versions+") AS detail_versions")
	}
	return "SELECT " + chschema.List(outer...) + " FROM (SELECT " + chschema.List(inner...) +
		" FROM " + observationsTable + " " + inProjectRows + in +
		" GROUP BY " + chschema.ObservationKey + ") GROUP BY " + chschema.ColTraceID
}

// TraceStats derives the totals of the given traces' observations with one
// query for the whole set, reading their rows on days. Traces without
// observations are absent.
func (s *Store) TraceStats(ctx context.Context, projectID string, traceIDs []string, days query.Days) (map[string]*query.TraceStats, error) {
	if len(traceIDs) == 0 {
		return map[string]*query.TraceStats{}, nil
	}
	return s.traceStats(ctx, projectID, idSet(traceIDs, days))
}

// SessionTraceStats derives the totals of the observations of the traces
// of the given sessions (keyed by trace id, as TraceStats), however many
// traces they hold, reading their rows on days. It may include traces that named a session once and
// another one later: the caller keeps the traces it knows to be in the
// session.
func (s *Store) SessionTraceStats(ctx context.Context, projectID string, sessionIDs []string, days query.Days) (map[string]*query.TraceStats, error) {
	if len(sessionIDs) == 0 {
		return map[string]*query.TraceStats{}, nil
	}
	return s.traceStats(ctx, projectID, sessionSet(projectID, sessionIDs, days))
}

// traceStats reads each trace's totals and usage details (traceTotals) in
// one merge of the traces' observations.
func (s *Store) traceStats(ctx context.Context, projectID string, traces traceSet) (map[string]*query.TraceStats, error) {
	out := map[string]*query.TraceStats{}
	q := newQuery("trace totals").add(traceTotals(traces, true), append([]any{projectID}, traces.args...)...)
	rows, err := s.query(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			traceID                     string
			st                          query.TraceStats
			usageIn, usageOut, usageTot *int64
			costIn, costOut, costTot    *float64
			versions                    []chschema.MapVersion
		)
		if err := rows.Scan(&traceID, &st.ObservationCount, &usageIn, &usageOut, &usageTot,
			&costIn, &costOut, &costTot, &st.MinStart, &st.MaxEnd, &st.Updated,
			&st.ErrorCount, &st.WarningCount, &st.Models, &versions); err != nil {
			return nil, fmt.Errorf("scan trace totals: %w", err)
		}
		slices.Sort(st.Models)
		st.Usage = chschema.Usage(usageIn, usageOut, usageTot, sumDetails(versions))
		st.Cost = chschema.Cost(costIn, costOut, costTot)
		out[traceID] = &st
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read trace totals: %w", err)
	}
	return out, nil
}

// sumDetails sums, per key, each observation's newest value of that usage
// detail, from the versions of a trace's observations; nil when none has
// any.
func sumDetails(versions []chschema.MapVersion) map[string]int64 {
	var out map[string]int64
	for _, observation := range chschema.MapVersionsBy(versions) {
		for k, v := range chschema.MergeInt64Map(observation) {
			if out == nil {
				out = map[string]int64{}
			}
			out[k] += v
		}
	}
	return out
}
