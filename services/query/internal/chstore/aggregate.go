package chstore

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/agenttrace/agenttrace/pkg/chschema"
	"github.com/agenttrace/agenttrace/services/query/internal/query"
)

// The metrics API's SQL. An aggregation reads three layers:
//
//  1. objects: the view's table merged per object (GROUP BY its id), only
//     the columns the query needs, kept when the merged time falls in the
//     window; the same merge as every other read, so a metric counts each
//     object once, with its newest values;
//  2. joined, when a field lives on another object: an observation's trace
//     (traceName, release, userId, sessionId, tags) or a trace's
//     observations (latency, tokens, cost), each merged the same way;
//  3. the aggregation: the filters, then GROUP BY the dimensions and the
//     time bucket.
//
// Every value the caller sends is a bound parameter; names come from the
// domain's catalog (query.MetricsFields, query.MetricsMeasures), which
// metricsViews maps to SQL.

// term is a field or measure of a view: the SQL expression over the merged
// aliases, the merges it needs in the objects layer and the join, if any.
type term struct {
	expr   string
	merges []string
	join   join
}

type join int

const (
	// joinNone: the term is on the view's own objects.
	joinNone join = iota
	// joinTrace: an observation's trace, merged (t_* columns).
	joinTrace
	// joinStats: a trace's observations, merged and summed (o_* columns).
	joinStats
)

// metricsView is the SQL of one view.
type metricsView struct {
	table string
	key   string // the merge's GROUP BY
	time  term   // the view's time, in nanoseconds
	terms map[string]term
}

var mergedCol = chschema.Merged

func mergedString(col string) term {
	return term{expr: mergedCol(col), merges: []string{chschema.MergeString(col)}}
}

// nullableFloat is a Nullable numeric merged column as Nullable(Float64).
func nullableFloat(col string) term {
	return term{expr: "toFloat64(" + mergedCol(col) + ")", merges: []string{chschema.MergeNullable(col)}}
}

// duration is to - from in milliseconds when both are set and ordered,
// else NULL (an unfinished observation has no latency).
func duration(from, to string) term {
	f, t := mergedCol(from), mergedCol(to)
	return term{
		expr:   fmt.Sprintf("if(%[1]s != 0 AND %[2]s != 0 AND %[2]s >= %[1]s, (%[2]s - %[1]s) / 1000000, NULL)", f, t),
		merges: []string{chschema.MergeUint(from), chschema.MergeUint(to)},
	}
}

func one() term { return term{expr: "1"} }

// Trace fields of an observation (joinTrace) are t_<column>.
func traceField(col string) term { return term{expr: "t_" + col, join: joinTrace} }

// Observation totals of a trace (joinStats) are o_<name>.
func statsField(name string) term { return term{expr: "o_" + name, join: joinStats} }

var metricsViews = map[string]metricsView{
	query.ViewObservations: {
		table: observationsTable,
		key:   chschema.ObservationKey,
		time:  term{expr: mergedCol(chschema.ColStartTime), merges: []string{chschema.MergeUint(chschema.ColStartTime)}},
		terms: map[string]term{
			"name":                mergedString(chschema.ColName),
			"type":                mergedString(chschema.ColType),
			"model":               mergedString(chschema.ColModel),
			"environment":         mergedString(chschema.ColEnvironment),
			"version":             mergedString(chschema.ColVersion),
			"level":               mergedString(chschema.ColLevel),
			"id":                  {expr: chschema.ColID},
			"traceId":             {expr: chschema.ColTraceID},
			"parentObservationId": mergedString(chschema.ColParentObservationID),
			"traceName":           traceField(chschema.ColName),
			"release":             traceField(chschema.ColRelease),
			"userId":              traceField(chschema.ColUserID),
			"sessionId":           traceField(chschema.ColSessionID),
			"tags":                traceField(chschema.ColTags),

			"count":            one(),
			"latency":          duration(chschema.ColStartTime, chschema.ColEndTime),
			"timeToFirstToken": duration(chschema.ColStartTime, chschema.ColCompletionStartTime),
			"inputTokens":      nullableFloat(chschema.ColUsageInput),
			"outputTokens":     nullableFloat(chschema.ColUsageOutput),
			"totalTokens": {
				expr: "toFloat64(" + chschema.EffectiveUsageTotal + ")",
				merges: []string{chschema.MergeNullable(chschema.ColUsageInput), chschema.MergeNullable(chschema.ColUsageOutput),
					chschema.MergeNullable(chschema.ColUsageTotal)},
			},
			"inputCost":  nullableFloat(chschema.ColCostInput),
			"outputCost": nullableFloat(chschema.ColCostOutput),
			"totalCost":  nullableFloat(chschema.ColCostTotal),
			"errors": {
				expr:   "if(" + mergedCol(chschema.ColLevel) + " = 'ERROR', 1, 0)",
				merges: []string{chschema.MergeString(chschema.ColLevel)},
			},
		},
	},
	query.ViewTraces: {
		table: tracesTable,
		key:   chschema.ColID,
		time:  term{expr: mTimestamp, merges: []string{chschema.MergeUint(chschema.ColTimestamp)}},
		terms: map[string]term{
			"name":        mergedString(chschema.ColName),
			"environment": mergedString(chschema.ColEnvironment),
			"release":     mergedString(chschema.ColRelease),
			"version":     mergedString(chschema.ColVersion),
			"tags":        {expr: mergedCol(chschema.ColTags), merges: []string{chschema.MergeTags}},
			"id":          {expr: chschema.ColID},
			"traceId":     {expr: chschema.ColID},
			"userId":      mergedString(chschema.ColUserID),
			"sessionId":   mergedString(chschema.ColSessionID),

			"count":             one(),
			"observationsCount": statsField("count"),
			"latency":           statsField("latency"),
			"inputTokens":       statsField("input_tokens"),
			"outputTokens":      statsField("output_tokens"),
			"totalTokens":       statsField("total_tokens"),
			"inputCost":         statsField("input_cost"),
			"outputCost":        statsField("output_cost"),
			"totalCost":         statsField("total_cost"),
		},
	},
	query.ViewScores: {
		table: scoresTable,
		key:   chschema.ColID,
		time:  term{expr: mTimestamp, merges: []string{chschema.MergeUint(chschema.ColTimestamp)}},
		terms: map[string]term{
			"name":          mergedString(chschema.ColName),
			"source":        mergedString(chschema.ColSource),
			"dataType":      mergedString(chschema.ColDataType),
			"environment":   mergedString(chschema.ColEnvironment),
			"stringValue":   mergedString(chschema.ColStringValue),
			"id":            {expr: chschema.ColID},
			"traceId":       mergedString(chschema.ColTraceID),
			"observationId": mergedString(chschema.ColObservationID),
			"sessionId":     mergedString(chschema.ColSessionID),

			"count": one(),
			"value": nullableFloat(chschema.ColValue),
		},
	},
}

// traceJoin merges the traces of the project for the observations view.
var traceJoin = "ANY LEFT JOIN (SELECT " + chschema.List(
	chschema.ColID+" AS "+chschema.ColTraceID,
	chschema.MergeStringAs(chschema.ColName, "t_"+chschema.ColName),
	chschema.MergeStringAs(chschema.ColRelease, "t_"+chschema.ColRelease),
	chschema.MergeStringAs(chschema.ColUserID, "t_"+chschema.ColUserID),
	chschema.MergeStringAs(chschema.ColSessionID, "t_"+chschema.ColSessionID),
	"arraySort(groupUniqArrayArray("+chschema.ColTags+")) AS t_"+chschema.ColTags,
) + " FROM " + tracesTable + " " + inProjectRows + " " + byID + ") USING " + chschema.ColTraceID

// statsJoin is the trace API's totals of each trace's merged observations
// (traceTotals), as the traces view's o_* measures: latency from the
// earliest start to the latest end, tokens as Float64.
var statsJoin = "ANY LEFT JOIN (SELECT " + chschema.List(
	chschema.ColTraceID+" AS "+chschema.ColID,
	"toFloat64(n) AS o_count",
	"if(min_start != 0 AND max_end > min_start, (max_end - min_start) / 1000000, NULL) AS o_latency",
	"toFloat64(sum_usage_input) AS o_input_tokens",
	"toFloat64(sum_usage_output) AS o_output_tokens",
	"toFloat64(sum_usage_total) AS o_total_tokens",
	"sum_cost_input AS o_input_cost",
	"sum_cost_output AS o_output_cost",
	"sum_cost_total AS o_total_cost",
) + " FROM (" + traceTotals(allTraces) + ")) USING " + chschema.ColID

// bucketSQL is the start of the time bucket of t (nanoseconds), in
// nanoseconds, in UTC; weeks start on Monday.
func bucketSQL(granularity, t string) string {
	const day = "86400000000000"
	seconds := "toDateTime(intDiv(" + t + ", 1000000000), 'UTC')"
	switch granularity {
	case "minute":
		return "intDiv(" + t + ", 60000000000) * 60000000000"
	case "hour":
		return "intDiv(" + t + ", 3600000000000) * 3600000000000"
	case "day":
		return "intDiv(" + t + ", " + day + ") * " + day
	case "week":
		return "toUInt64(toMonday(" + seconds + ")) * " + day
	default: // month
		return "toUInt64(toStartOfMonth(" + seconds + ")) * " + day
	}
}

// aggregateSQL is an aggregation of v; numbers come back as
// Nullable(Float64), a histogram as Array(Tuple(lower, upper, count)).
func aggregateSQL(agg, measure, v string, bins int) string {
	wrap := func(s string) string { return "toNullable(toFloat64(" + s + "))" }
	switch {
	case measure == "count":
		return wrap("count()")
	case agg == "histogram":
		return "arrayMap(b -> [b.1, b.2, b.3], histogram(" + strconv.Itoa(bins) + ")(" + v + "))"
	case agg == "count":
		return wrap("count(" + v + ")")
	case strings.HasPrefix(agg, "p"):
		return wrap("quantileExact(0." + strings.TrimPrefix(agg, "p") + ")(" + v + ")")
	default: // sum, avg, min, max
		return wrap(agg + "(" + v + ")")
	}
}

// filterSQL is one filter's condition over the expression e.
func filterSQL(c *conds, f query.MetricsFilter, e string) {
	switch {
	case f.Measure:
		c.add(e+" "+f.Op+" ?", f.Number)
	case f.Kind == query.FieldTags:
		switch f.Op {
		case query.OpAnyOf:
			c.add("hasAny("+e+", ?)", f.Values)
		case query.OpAllOf:
			c.add("hasAll("+e+", ?)", f.Values)
		default: // none of
			c.add("NOT hasAny("+e+", ?)", f.Values)
		}
	default:
		switch f.Op {
		case query.OpEq, query.OpNe:
			c.add(e+" "+f.Op+" ?", f.Values[0])
		case query.OpContains:
			c.add("position("+e+", ?) > 0", f.Values[0])
		case query.OpNotContains:
			c.add("position("+e+", ?) = 0", f.Values[0])
		case query.OpStartsWith:
			c.add("startsWith("+e+", ?)", f.Values[0])
		case query.OpEndsWith:
			c.add("endsWith("+e+", ?)", f.Values[0])
		case query.OpAnyOf:
			c.add(e+" IN ?", set(f.Values))
		default: // none of
			c.add(e+" NOT IN ?", set(f.Values))
		}
	}
}

// metricsSQL builds the aggregation of q over projectID.
func metricsSQL(projectID string, q *query.MetricsQuery) (*sqlQuery, error) {
	view, ok := metricsViews[q.View]
	if !ok {
		return nil, fmt.Errorf("metrics: no SQL for view %q", q.View)
	}
	lookup := func(name string) (term, error) {
		t, ok := view.terms[name]
		if !ok {
			return term{}, fmt.Errorf("metrics: no SQL for %s.%s", q.View, name)
		}
		return t, nil
	}

	// Collect the merges and joins the terms need.
	merges := []string{}
	var mergeArgs []any
	needs := map[join]bool{}
	use := func(t term) {
		for _, mg := range t.merges {
			if !slices.Contains(merges, mg) {
				merges = append(merges, mg)
			}
		}
		if t.join != joinNone {
			needs[t.join] = true
		}
	}
	use(view.time)

	dims := make([]string, len(q.Dimensions))
	for i, d := range q.Dimensions {
		t, err := lookup(d.Field)
		if err != nil {
			return nil, err
		}
		use(t)
		dims[i] = t.expr
		if query.MetricsFields[q.View][d.Field] == query.FieldTags {
			dims[i] = "arrayJoin(if(empty(" + t.expr + "), [''], " + t.expr + "))"
		}
	}
	values := make([]string, len(q.Metrics))
	for i, mt := range q.Metrics {
		t, err := lookup(mt.Measure)
		if err != nil {
			return nil, err
		}
		use(t)
		values[i] = aggregateSQL(mt.Aggregation, mt.Measure, t.expr, q.Bins)
	}
	var where conds
	for i, f := range q.Filters {
		if f.Kind == query.FieldMetadata {
			alias := "k_metadata_" + strconv.Itoa(i)
			merges = append(merges, fmt.Sprintf("argMaxIf(%[1]s[indexOf(%[2]s, ?)], %[3]s, has(%[2]s, ?)) AS %[4]s",
				chschema.Metadata.Values, chschema.Metadata.Keys, chschema.VersionOrder, alias))
			mergeArgs = append(mergeArgs, f.Key, f.Key)
			filterSQL(&where, f, alias)
			continue
		}
		t, err := lookup(f.Field)
		if err != nil {
			return nil, err
		}
		use(t)
		filterSQL(&where, f, t.expr)
	}

	// The objects layer: metadata merges carry their key as parameters, so
	// they come last, after every parameter-free merge.
	sql := newQuery("metrics_" + q.View)
	selects := []string{}
	for i, d := range dims {
		selects = append(selects, d+" AS d"+strconv.Itoa(i))
	}
	group := make([]string, 0, len(dims)+1)
	for i := range dims {
		group = append(group, "d"+strconv.Itoa(i))
	}
	if q.Granularity != "" {
		selects = append(selects, bucketSQL(q.Granularity, view.time.expr)+" AS "+query.TimeDimension)
		group = append(group, query.TimeDimension)
	}
	for i, v := range values {
		selects = append(selects, v+" AS v"+strconv.Itoa(i))
	}
	sql.add("SELECT " + chschema.List(selects...))
	sql.add("FROM (SELECT "+chschema.List(append([]string{view.key}, merges...)...)+" FROM "+view.table+
		" "+inProjectRows+" GROUP BY "+view.key+" HAVING "+view.time.expr+" >= ? AND "+view.time.expr+" < ?)",
		append(append(mergeArgs, projectID), q.Time.From, q.Time.To)...)
	if needs[joinTrace] {
		sql.add(traceJoin, projectID)
	}
	if needs[joinStats] {
		sql.add(statsJoin, projectID)
	}
	sql.addConds("WHERE", &where)
	if len(group) > 0 {
		sql.add("GROUP BY " + chschema.List(group...))
	}
	if order := orderSQL(q); order != "" {
		sql.add("ORDER BY " + order)
	}
	sql.add("LIMIT " + strconv.Itoa(q.Limit))
	return sql, nil
}

// orderSQL is the caller's order, then the time bucket and the dimensions
// ascending, so that equal rows always come in the same order; "" when the
// result is one row.
func orderSQL(q *query.MetricsQuery) string {
	var parts []string
	seen := map[string]bool{}
	add := func(col string, desc bool) {
		if seen[col] {
			return
		}
		seen[col] = true
		if desc {
			col += " DESC"
		}
		parts = append(parts, col)
	}
	for _, o := range q.OrderBy {
		switch {
		case o.Time:
			add(query.TimeDimension, o.Desc)
		case o.Dimension >= 0:
			add("d"+strconv.Itoa(o.Dimension), o.Desc)
		default:
			add("v"+strconv.Itoa(o.Metric), o.Desc)
		}
	}
	if q.Granularity != "" {
		add(query.TimeDimension, false)
	}
	for i := range q.Dimensions {
		add("d"+strconv.Itoa(i), false)
	}
	return strings.Join(parts, ", ")
}

// Metrics runs one aggregation (query.MetricsStore).
func (s *Store) Metrics(ctx context.Context, projectID string, q *query.MetricsQuery) ([]query.MetricsRow, error) {
	sql, err := metricsSQL(projectID, q)
	if err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, sql)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []query.MetricsRow
	for rows.Next() {
		r := query.MetricsRow{Dimensions: make([]string, len(q.Dimensions)), Values: make([]query.MetricValue, len(q.Metrics))}
		dest := make([]any, 0, len(q.Dimensions)+1+len(q.Metrics))
		for i := range r.Dimensions {
			dest = append(dest, &r.Dimensions[i])
		}
		if q.Granularity != "" {
			dest = append(dest, &r.Bucket)
		}
		hist := make([][][]float64, len(q.Metrics))
		for i, mt := range q.Metrics {
			if mt.Aggregation == "histogram" {
				dest = append(dest, &hist[i])
			} else {
				dest = append(dest, &r.Values[i].Number)
			}
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("scan metrics: %w", err)
		}
		for i, mt := range q.Metrics {
			if mt.Aggregation == "histogram" {
				r.Values[i].Histogram = histogramBins(hist[i])
			}
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	return out, nil
}

// histogramBins reads the histogram's [lower, upper, weight] bins.
func histogramBins(rows [][]float64) []query.HistogramBin {
	bins := make([]query.HistogramBin, 0, len(rows))
	for _, b := range rows {
		if len(b) == 3 {
			bins = append(bins, query.HistogramBin{Lower: b[0], Upper: b[1], Count: b[2]})
		}
	}
	return bins
}
