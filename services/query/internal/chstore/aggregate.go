package chstore

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

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
	// rollup is the term in the observations rollup: a dimension's column
	// or a measure's column prefix; "" when the rollup does not hold it.
	rollup string
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
	// index is the view's time index (every version with a time, by
	// time), indexTime its time column; "" when the view has none.
	index, indexTime string
}

var mergedCol = chschema.Merged

func mergedString(col string) term {
	return term{expr: mergedCol(col), merges: []string{chschema.MergeString(col)}}
}

// measure is a chschema measure as a term.
func measure(m chschema.Measure) term { return term{expr: m.Expr, merges: m.Merges} }

// observationMeasure is a measure of merged observations, as the rollup
// sums it (chschema.ObservationMeasures).
func observationMeasure(name string) term {
	m, ok := chschema.ObservationMeasures[name]
	if !ok {
		panic("no observation measure " + name) // a constant of this file
	}
	t := measure(m)
	t.rollup = name
	return t
}

func one() term { return term{expr: "1"} }

// rolledUp is an observation's merged String column that the rollup holds
// as a dimension.
func rolledUp(col string) term {
	t := mergedString(col)
	t.rollup = col
	return t
}

// Trace fields of an observation (joinTrace) are t_<column>.
func traceField(col string) term { return term{expr: "t_" + col, join: joinTrace} }

// rolledUpTraceField is a trace field that the observations rollup holds
// as a dimension (chschema.ObservationRollupTraceDims).
func rolledUpTraceField(col string) term {
	t := traceField(col)
	for _, d := range chschema.ObservationRollupTraceDims {
		if d.Trace == col {
			t.rollup = d.Column
		}
	}
	return t
}

// Observation totals of a trace (joinStats) are o_<name>.
func statsField(name string) term { return term{expr: "o_" + name, join: joinStats} }

var metricsViews = map[string]metricsView{
	query.ViewObservations: {
		table:     observationsTable,
		key:       chschema.ObservationKey,
		index:     chschema.ObservationsByTime,
		indexTime: chschema.ColStartTime,
		time:      term{expr: mergedCol(chschema.ColStartTime), merges: []string{chschema.MergeUint(chschema.ColStartTime)}},
		terms: map[string]term{
			"name":                rolledUp(chschema.ColName),
			"type":                rolledUp(chschema.ColType),
			"model":               rolledUp(chschema.ColModel),
			"environment":         rolledUp(chschema.ColEnvironment),
			"version":             rolledUp(chschema.ColVersion),
			"level":               rolledUp(chschema.ColLevel),
			"id":                  {expr: chschema.ColID},
			"traceId":             {expr: chschema.ColTraceID},
			"parentObservationId": mergedString(chschema.ColParentObservationID),
			"traceName":           rolledUpTraceField(chschema.ColName),
			"release":             rolledUpTraceField(chschema.ColRelease),
			"userId":              traceField(chschema.ColUserID),
			"sessionId":           traceField(chschema.ColSessionID),
			"tags":                traceField(chschema.ColTags),

			"count":            one(),
			"latency":          observationMeasure("latency"),
			"timeToFirstToken": observationMeasure("time_to_first_token"),
			"inputTokens":      observationMeasure("input_tokens"),
			"outputTokens":     observationMeasure("output_tokens"),
			"totalTokens":      observationMeasure("total_tokens"),
			"inputCost":        observationMeasure("input_cost"),
			"outputCost":       observationMeasure("output_cost"),
			"totalCost":        observationMeasure("total_cost"),
			"errors":           observationMeasure("errors"),
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
			"value": measure(chschema.NullableFloat(chschema.ColValue)),
		},
	},
}

// traceJoin merges the traces of the project for the observations view;
// traces, when not "", is an IN subquery that narrows them down, and
// within a condition on the days their rows are read on (see onDays).
func traceJoin(traces, within string) string {
	restrict := ""
	if traces != "" {
		restrict = " AND " + chschema.ColID + " IN (" + traces + ")" + within
	}
	return "ANY LEFT JOIN (SELECT " + chschema.List(
		chschema.ColID+" AS "+chschema.ColTraceID,
		chschema.MergeStringAs(chschema.ColName, "t_"+chschema.ColName),
		chschema.MergeStringAs(chschema.ColRelease, "t_"+chschema.ColRelease),
		chschema.MergeStringAs(chschema.ColUserID, "t_"+chschema.ColUserID),
		chschema.MergeStringAs(chschema.ColSessionID, "t_"+chschema.ColSessionID),
		"arraySort(groupUniqArrayArray("+chschema.ColTags+")) AS t_"+chschema.ColTags,
	) + " FROM " + tracesTable + " " + inProjectRows + restrict + " " + byID + ") USING " + chschema.ColTraceID
}

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
) + " FROM (" + traceTotals(allTraces, false) + ")) USING " + chschema.ColID

// bucketSQL is the start of the time bucket of t (nanoseconds), in
// nanoseconds, in UTC; weeks start on Monday.
func bucketSQL(granularity, t string) string {
	const day = "86400000000000"
	seconds := "toDateTime(intDiv(" + t + ", 1000000000), 'UTC')"
	switch granularity {
	case "minute":
		return "intDiv(" + t + ", 60000000000) * 60000000000"
	case "hour":
		return chschema.HourOf(t)
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
	case percentile(agg):
		return wrap(quantileLevel("quantileExact", agg) + "(" + v + ")")
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

// rollupShape says whether q's shape can be read from the observations
// rollup: not for another view, a minute granularity, histograms,
// percentiles of a measure whose values it does not keep, a dimension or
// filter it does not hold, or a filter on a measure (which applies per
// object).
func rollupShape(view metricsView, q *query.MetricsQuery) bool {
	if q.View != query.ViewObservations || q.Granularity == "minute" {
		return false
	}
	for _, d := range q.Dimensions {
		if view.terms[d.Field].rollup == "" || query.MetricsFields[q.View][d.Field] == query.FieldTags {
			return false
		}
	}
	for _, f := range q.Filters {
		if f.Measure || f.Kind == query.FieldMetadata || view.terms[f.Field].rollup == "" {
			return false
		}
	}
	for _, m := range q.Metrics {
		rollup := view.terms[m.Measure].rollup
		switch {
		case m.Measure == "count":
		case rollup == "" || m.Aggregation == "histogram":
			return false
		case percentile(m.Aggregation) && !slices.Contains(chschema.RollupValueMeasures, rollup):
			return false
		}
	}
	return true
}

// rollupPlan splits a window between the rollup and the raw rows.
type rollupPlan struct {
	rolled []timeRange // whole hours read from the rollup
	raw    []timeRange // the rest, read from the raw rows
	// days bounds the raw read's rows when it finds its objects through
	// the time index: the days their traces have rows on (every day when
	// not looked up).
	days query.Days
}

// maxPlanRanges bounds the ranges of a plan (and so its SQL); a window
// that alternates more often between rolled up and raw hours is read raw.
const maxPlanRanges = 64

// hourState is what a read needs to know of an hour of observations: the
// newest generation of its rollup (0: none) and when rows were last written
// for it (0: never, since migration 000031's fill).
type hourState struct{ generation, written uint64 }

// planRollup splits q's window: a whole hour is read from the rollup when
// nothing was written for it after its newest computation began (an hour
// without rows and without rollup is empty: nothing to read either way);
// every other hour, and the window's partial first and last hours, from
// the raw rows. nil: read everything raw.
func planRollup(q *query.MetricsQuery, hours map[uint64]hourState) *rollupPlan {
	hour := chschema.RollupHour
	from := (q.Time.From + hour - 1) / hour * hour
	to := q.Time.To / hour * hour
	if from >= to {
		return nil
	}
	p := &rollupPlan{}
	add := func(rs *[]timeRange, r timeRange) {
		if n := len(*rs); n > 0 && (*rs)[n-1].to == r.from {
			(*rs)[n-1].to = r.to
			return
		}
		*rs = append(*rs, r)
	}
	if q.Time.From < from {
		add(&p.raw, timeRange{q.Time.From, from})
	}
	for h := from; h < to; h += hour {
		st := hours[h]
		if st.written == 0 || (st.generation != 0 && st.written <= st.generation) {
			add(&p.rolled, timeRange{h, h + hour})
		} else {
			add(&p.raw, timeRange{h, h + hour})
		}
	}
	if to < q.Time.To {
		add(&p.raw, timeRange{to, q.Time.To})
	}
	if len(p.rolled) == 0 || len(p.rolled)+len(p.raw) > maxPlanRanges {
		return nil
	}
	return p
}

// hourStates reads the rollup generations and last writes of the whole
// hours of q's window.
func (s *Store) hourStates(ctx context.Context, projectID string, q *query.MetricsQuery) (map[uint64]hourState, error) {
	hour := chschema.RollupHour
	from, to := (q.Time.From+hour-1)/hour*hour, q.Time.To/hour*hour
	states := map[uint64]hourState{}
	read := func(sql *sqlQuery, set func(st *hourState, v uint64)) error {
		rows, err := s.query(ctx, sql)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var h, v uint64
			if err := rows.Scan(&h, &v); err != nil {
				return fmt.Errorf("scan %s: %w", sql.name, err)
			}
			st := states[h]
			set(&st, v)
			states[h] = st
		}
		return rows.Err()
	}
	generations := newQuery("metrics_rollup_hours").add("SELECT hour, max(generation) FROM "+chschema.RollupHours+" "+inProjectRows+
		" WHERE view = ? AND hour >= ? AND hour < ? GROUP BY hour", projectID, chschema.RollupViewObservations, from, to)
	if err := read(generations, func(st *hourState, v uint64) { st.generation = v }); err != nil {
		return nil, err
	}
	writes := newQuery("metrics_hour_writes").add("SELECT hour, max(ingested_at) FROM "+chschema.ObservationHourWrites+" "+inProjectRows+
		" AND hour >= ? AND hour < ? GROUP BY hour", projectID, from, to)
	if err := read(writes, func(st *hourState, v uint64) { st.written = v }); err != nil {
		return nil, err
	}
	return states, nil
}

// metricsSQL builds the aggregation of q over projectID. When part of the
// window is read from the rollup (plan, nil for none), each
// metric is aggregated in two steps: partial aggregates (count, sum, least
// and greatest of the values) per group from the rollup's hours and from
// the raw rows of the rest of the window, then combined per group.
func metricsSQL(projectID string, q *query.MetricsQuery, plan *rollupPlan) (*sqlQuery, error) {
	view, ok := metricsViews[q.View]
	if !ok {
		return nil, fmt.Errorf("metrics: no SQL for view %q", q.View)
	}
	for _, name := range metricsTermNames(q) {
		if _, ok := view.terms[name]; !ok {
			return nil, fmt.Errorf("metrics: no SQL for %s.%s", q.View, name)
		}
	}
	sql := newQuery("metrics_" + q.View)
	if plan == nil {
		rawMetricsSQL(sql, projectID, q, view, []timeRange{{q.Time.From, q.Time.To}}, false, query.Days{})
		sql.add("LIMIT " + strconv.Itoa(q.Limit))
		return sql, nil
	}
	sql.name += "_rollup"
	group := metricsGroup(q)
	selects := slices.Clone(group)
	for i, m := range q.Metrics {
		n, s, lo, hi := partialCols(i)
		var v string
		switch {
		case m.Measure == "count" || m.Aggregation == "count":
			v = "toNullable(toFloat64(sum(" + n + ")))"
		case percentile(m.Aggregation):
			v = "if(sum(" + n + ") = 0, NULL, toFloat64(" + quantileLevel("quantileExactArray", m.Aggregation) + "(" + valuesCol(i) + ")))"
		case m.Aggregation == "avg":
			v = "if(sum(" + n + ") = 0, NULL, sum(" + s + ") / sum(" + n + "))"
		case m.Aggregation == "sum":
			v = "if(sum(" + n + ") = 0, NULL, sum(" + s + "))"
		case m.Aggregation == "min":
			v = "if(sum(" + n + ") = 0, NULL, minIf(" + lo + ", " + n + " > 0))"
		default: // max
			v = "if(sum(" + n + ") = 0, NULL, maxIf(" + hi + ", " + n + " > 0))"
		}
		selects = append(selects, v+" AS v"+strconv.Itoa(i))
	}
	sql.add("SELECT " + chschema.List(selects...) + " FROM (")
	if len(plan.raw) > 0 {
		rawMetricsSQL(sql, projectID, q, view, plan.raw, true, plan.days)
		sql.add("UNION ALL")
	}
	rollupMetricsSQL(sql, projectID, q, view, plan.rolled)
	sql.add(")")
	if len(group) > 0 {
		sql.add("GROUP BY " + chschema.List(group...))
	}
	if order := orderSQL(q); order != "" {
		sql.add("ORDER BY " + order)
	}
	sql.add("LIMIT " + strconv.Itoa(q.Limit))
	return sql, nil
}

// timeRange is [from, to) in nanoseconds.
type timeRange struct{ from, to uint64 }

// metricsTermNames are the fields and measures q reads.
func metricsTermNames(q *query.MetricsQuery) []string {
	var names []string
	for _, d := range q.Dimensions {
		names = append(names, d.Field)
	}
	for _, m := range q.Metrics {
		names = append(names, m.Measure)
	}
	for _, f := range q.Filters {
		if f.Kind != query.FieldMetadata {
			names = append(names, f.Field)
		}
	}
	return names
}

// metricsGroup is the result's grouping columns: d0, d1, … and the time
// bucket.
func metricsGroup(q *query.MetricsQuery) []string {
	group := make([]string, 0, len(q.Dimensions)+1)
	for i := range q.Dimensions {
		group = append(group, "d"+strconv.Itoa(i))
	}
	if q.Granularity != "" {
		group = append(group, query.TimeDimension)
	}
	return group
}

// partialCols are metric i's partial aggregates: how many values, their
// sum, least and greatest.
func partialCols(i int) (n, sum, least, greatest string) {
	p := "p" + strconv.Itoa(i)
	return p + "_n", p + "_s", p + "_lo", p + "_hi"
}

// valuesCol is a percentile metric's partial aggregate: every value.
func valuesCol(i int) string { return "p" + strconv.Itoa(i) + "_vals" }

// percentile says whether agg is p50, p75, ….
func percentile(agg string) bool { return strings.HasPrefix(agg, "p") }

// quantileLevel is fn with the level of percentile agg: quantileExact(0.95).
func quantileLevel(fn, agg string) string { return fn + "(0." + strings.TrimPrefix(agg, "p") + ")" }

// maxIndexedRaw is the most time a partial raw read finds its objects for
// through the time index; over more (hours not rolled up yet after an
// upgrade, or with the rollup job off) the set of their keys would cost
// more than merging the project, which it then does.
const maxIndexedRaw = uint64(48 * time.Hour)

// inRanges is the condition that e (nanoseconds) lies in one of ranges,
// and its parameters.
func inRanges(e string, ranges []timeRange) (string, []any) {
	parts := make([]string, len(ranges))
	args := make([]any, 0, 2*len(ranges))
	for i, r := range ranges {
		parts[i] = e + " >= ? AND " + e + " < ?"
		args = append(args, r.from, r.to)
	}
	return "(" + strings.Join(parts, " OR ") + ")", args
}

// span is the total length of ranges.
func span(ranges []timeRange) uint64 {
	var n uint64
	for _, r := range ranges {
		n += r.to - r.from
	}
	return n
}

// rawMetricsSQL adds the aggregation of the merged objects whose time falls
// in one of ranges: the metrics themselves, or (partial) their partial
// aggregates, grouped by metricsGroup, unordered and unlimited.
//
// Partial reads over at most maxIndexedRaw find the objects through the
// view's time index (every version with a time is indexed, so an object
// whose merged time is in a range has an index row there) instead of
// merging the whole project, and read their rows, and their traces', on
// days (those their traces have rows on).
func rawMetricsSQL(sql *sqlQuery, projectID string, q *query.MetricsQuery, view metricsView, ranges []timeRange, partial bool, days query.Days) {
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

	selects := []string{}
	for i, d := range q.Dimensions {
		t := view.terms[d.Field]
		use(t)
		e := t.expr
		if query.MetricsFields[q.View][d.Field] == query.FieldTags {
			e = "arrayJoin(if(empty(" + t.expr + "), [''], " + t.expr + "))"
		}
		selects = append(selects, e+" AS d"+strconv.Itoa(i))
	}
	if q.Granularity != "" {
		selects = append(selects, bucketSQL(q.Granularity, view.time.expr)+" AS "+query.TimeDimension)
	}
	for i, mt := range q.Metrics {
		t := view.terms[mt.Measure]
		use(t)
		if !partial {
			selects = append(selects, aggregateSQL(mt.Aggregation, mt.Measure, t.expr, q.Bins)+" AS v"+strconv.Itoa(i))
			continue
		}
		n, s, lo, hi := partialCols(i)
		if mt.Measure == "count" {
			selects = append(selects, "count() AS "+n, "toFloat64(0) AS "+s, "toFloat64(0) AS "+lo, "toFloat64(0) AS "+hi)
			continue
		}
		an, asum, aleast, agreatest := chschema.RollupAggregates(t.expr)
		selects = append(selects, an+" AS "+n, asum+" AS "+s, aleast+" AS "+lo, agreatest+" AS "+hi)
		if percentile(mt.Aggregation) {
			selects = append(selects, chschema.RollupValuesAggregate(t.expr)+" AS "+valuesCol(i))
		}
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
		t := view.terms[f.Field]
		use(t)
		filterSQL(&where, f, t.expr)
	}

	// The objects layer: metadata merges carry their key as parameters, so
	// they come last, after every parameter-free merge.
	sql.add("SELECT " + chschema.List(selects...))
	sql.add("FROM (SELECT "+chschema.List(append([]string{view.key}, merges...)...)+" FROM "+view.table+
		" "+inProjectRows, append(mergeArgs, projectID)...)
	indexed := indexedRaw(view, ranges, partial)
	indexTraces, indexArgs := indexSQL(view, projectID, ranges, chschema.ColTraceID)
	within, dayArgs := onDays(days)
	if indexed {
		keys, _ := indexSQL(view, projectID, ranges, view.key)
		sql.add("AND "+chschema.ColTraceID+" IN ("+indexTraces+")"+within, append(slices.Clone(indexArgs), dayArgs...)...)
		sql.add("WHERE ("+view.key+") IN ("+keys+")", indexArgs...)
	}
	objectRanges, rangeArgs := inRanges(view.time.expr, ranges)
	sql.add("GROUP BY "+view.key+" HAVING "+objectRanges+")", rangeArgs...)
	if needs[joinTrace] {
		if indexed {
			sql.add(traceJoin(indexTraces, within), slices.Concat([]any{projectID}, indexArgs, dayArgs)...)
		} else {
			sql.add(traceJoin("", ""), projectID)
		}
	}
	if needs[joinStats] {
		sql.add(statsJoin, projectID)
	}
	sql.addConds("WHERE", &where)
	if group := metricsGroup(q); len(group) > 0 {
		sql.add("GROUP BY " + chschema.List(group...))
	}
	if !partial {
		if order := orderSQL(q); order != "" {
			sql.add("ORDER BY " + order)
		}
	}
}

// indexedRaw says whether a raw read over ranges (partial: of a window
// split with the rollup) finds its objects through the view's time index.
func indexedRaw(view metricsView, ranges []timeRange, partial bool) bool {
	return partial && view.index != "" && len(ranges) > 0 && span(ranges) <= maxIndexedRaw
}

// indexSQL selects cols from the view's time index rows in ranges, and
// its parameters.
func indexSQL(view metricsView, projectID string, ranges []timeRange, cols string) (string, []any) {
	r, args := inRanges(view.indexTime, ranges)
	return "SELECT " + cols + " FROM " + view.index + " " + inProjectRows + " WHERE " + r, append([]any{projectID}, args...)
}

// rollupMetricsSQL adds the partial aggregates of q's metrics over the
// rolled up hours in ranges, from each hour's newest generation: a rollup
// row is one already (grouping here too would only copy the percentile
// measures' values once more before they are combined).
func rollupMetricsSQL(sql *sqlQuery, projectID string, q *query.MetricsQuery, view metricsView, ranges []timeRange) {
	selects := []string{}
	for i, d := range q.Dimensions {
		selects = append(selects, view.terms[d.Field].rollup+" AS d"+strconv.Itoa(i))
	}
	if q.Granularity != "" {
		selects = append(selects, bucketSQL(q.Granularity, "hour")+" AS "+query.TimeDimension)
	}
	for i, mt := range q.Metrics {
		n, s, lo, hi := partialCols(i)
		if mt.Measure == "count" {
			selects = append(selects, chschema.RollupCount+" AS "+n, "toFloat64(0) AS "+s, "toFloat64(0) AS "+lo, "toFloat64(0) AS "+hi)
			continue
		}
		rollup := view.terms[mt.Measure].rollup
		cn, cs, clo, chi := chschema.RollupColumns(rollup)
		selects = append(selects, cn+" AS "+n, cs+" AS "+s, clo+" AS "+lo, chi+" AS "+hi)
		if percentile(mt.Aggregation) {
			selects = append(selects, chschema.RollupValues(rollup)+" AS "+valuesCol(i))
		}
	}
	from, to := ranges[0].from, ranges[len(ranges)-1].to
	var where conds
	hours, hourArgs := inRanges("hour", ranges)
	where.add(hours, hourArgs...)
	where.add(chschema.RollupSelectLatest, projectID, chschema.RollupViewObservations, from, to)
	for _, f := range q.Filters {
		filterSQL(&where, f, view.terms[f.Field].rollup)
	}
	sql.add("SELECT "+chschema.List(selects...)+" FROM "+chschema.ObservationHours+" "+inProjectRows+
		" AND hour >= ? AND hour < ?", projectID, from, to)
	sql.addConds("WHERE", &where)
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
	var plan *rollupPlan
	if rollupShape(metricsViews[q.View], q) {
		hours, err := s.hourStates(ctx, projectID, q)
		if err != nil {
			return nil, err
		}
		plan = planRollup(q, hours)
	}
	if view := metricsViews[q.View]; plan != nil && indexedRaw(view, plan.raw, true) {
		traces, args := indexSQL(view, projectID, plan.raw, chschema.ColTraceID)
		var err error
		if plan.days, _, err = s.traceDaysIn(ctx, projectID, "("+traces+")", args); err != nil {
			return nil, err
		}
	}
	sql, err := metricsSQL(projectID, q, plan)
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
