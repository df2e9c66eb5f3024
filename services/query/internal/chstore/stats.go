package chstore

import (
	"context"
	"fmt"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
)

// TraceStats are the fields derived from a trace's merged observations.
type TraceStats struct {
	ObservationCount int64
	Usage            *commonv1.Usage // sums; nil when no observation has usage
	Cost             *commonv1.Cost  // sums; nil when no observation has cost
	MinStart         uint64          // earliest set start_time, 0 when none
	MaxEnd           uint64          // latest set end_time, 0 when none
	Updated          uint64          // newest event_ts of any observation version
}

// traceTotals sums the merged observations of each trace; the inner query
// merges each observation once, so duplicates and update rows count once.
// Each observation's total is effectiveUsageTotal, so one that reported
// input and output but no total still counts.
var traceTotals = "SELECT trace_id, toInt64(count()) AS n," +
	" toNullable(sum(m_usage_input)), toNullable(sum(m_usage_output)), toNullable(sum(" + effectiveUsageTotal + "))," +
	" toNullable(sum(m_cost_input)), toNullable(sum(m_cost_output)), toNullable(sum(m_cost_total))," +
	" minIf(m_start_time, m_start_time != 0), max(m_end_time), max(m_updated)" +
	" FROM (SELECT trace_id, id, " + columns(
	mergeNullable("usage_input"), mergeNullable("usage_output"), mergeNullable("usage_total"),
	mergeNullable("cost_input"), mergeNullable("cost_output"), mergeNullable("cost_total"),
	mergeUint("start_time"), mergeUint("end_time"), mergeUpdated,
) + " FROM " + observationsTable + " WHERE project_id = ? AND trace_id IN ? GROUP BY trace_id, id)" +
	" GROUP BY trace_id"

// traceDetails sums, per trace and key, each observation's newest value of
// that usage detail.
var traceDetails = "SELECT trace_id, detail_key, sum(m_detail) FROM (" +
	"SELECT trace_id, id, detail_key, argMax(detail, " + version + ") AS m_detail" +
	" FROM " + observationsTable + " ARRAY JOIN usage_details_keys AS detail_key, usage_details_values AS detail" +
	" WHERE project_id = ? AND trace_id IN ? GROUP BY trace_id, id, detail_key)" +
	" GROUP BY trace_id, detail_key"

// TraceStats derives the totals of the given traces' observations with two
// queries for the whole set. Traces without observations are absent.
func (s *Store) TraceStats(ctx context.Context, projectID string, traceIDs []string) (map[string]*TraceStats, error) {
	out := make(map[string]*TraceStats, len(traceIDs))
	if len(traceIDs) == 0 {
		return out, nil
	}
	rows, err := s.query(ctx, newQuery("trace totals").add(traceTotals, projectID, set(traceIDs)))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			traceID                     string
			st                          TraceStats
			usageIn, usageOut, usageTot *int64
			costIn, costOut, costTot    *float64
		)
		if err := rows.Scan(&traceID, &st.ObservationCount, &usageIn, &usageOut, &usageTot,
			&costIn, &costOut, &costTot, &st.MinStart, &st.MaxEnd, &st.Updated); err != nil {
			return nil, fmt.Errorf("scan trace totals: %w", err)
		}
		st.Usage = usage(usageIn, usageOut, usageTot, nil)
		st.Cost = cost(costIn, costOut, costTot)
		out[traceID] = &st
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read trace totals: %w", err)
	}
	rows.Close()

	rows, err = s.query(ctx, newQuery("trace usage details").add(traceDetails, projectID, set(traceIDs)))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			traceID, key string
			total        int64
		)
		if err := rows.Scan(&traceID, &key, &total); err != nil {
			return nil, fmt.Errorf("scan trace usage details: %w", err)
		}
		st, ok := out[traceID]
		if !ok {
			continue
		}
		if st.Usage == nil {
			st.Usage = &commonv1.Usage{}
		}
		if st.Usage.Details == nil {
			st.Usage.Details = map[string]int64{}
		}
		st.Usage.Details[key] = total
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read trace usage details: %w", err)
	}
	return out, nil
}
