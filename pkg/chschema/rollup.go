package chschema

import (
	"context"
	"fmt"
	"slices"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// The metrics rollups (migrations 000026–000029). A rollup holds, per
// project, hour and combination of dimensions, the count of merged objects
// and per measure the count, sum, least and greatest of its values: what
// count, sum, avg, min and max need, so those aggregations over closed hours
// read a row per group and hour instead of merging every object. Objects are
// versioned, so no view on inserts can maintain this: the worker's rollup
// job merges an hour's objects once the hour has closed
// (RollupObservationHours) and again whenever late versions or deletions
// touch it. Each computation writes its rows under a new generation, then
// records the hour in RollupHours; readers take the newest recorded
// generation of each hour. Hours before the view's "closed" progress mark
// are all rolled up: an hour without a record had no objects.
const (
	ObservationHours = "observation_hours"
	RollupHours      = "rollup_hours"
	RollupProgress   = "rollup_progress"
	RollupMarks      = "rollup_marks"
	// ObservationHourWrites holds, per project and hour of start times,
	// when rows were last written: a reader takes a rolled up hour only if
	// none was written after its computation began.
	ObservationHourWrites = "observation_hour_writes"
)

// RollupHour is the rollups' time step, in nanoseconds.
const RollupHour = uint64(3_600_000_000_000)

// Rollup views, as recorded in RollupHours, RollupProgress and RollupMarks.
const RollupViewObservations = "observations"

// Progress mark names (RollupProgress): every hour before Closed is rolled
// up; rows written up to Ingested have been looked at for late versions.
const (
	ProgressClosed   = "closed"
	ProgressIngested = "ingested"
)

// RollupTables are the rollups' tables of project data, which retention
// expires by event_date with the rows they sum.
var RollupTables = []string{ObservationHours, RollupHours, ObservationHourWrites}

// Measure is a numeric value of a merged object: an SQL expression over the
// Merged aliases, NULL when the object has no such value, and the merge
// expressions it reads.
type Measure struct {
	Expr   string
	Merges []string
}

// NullableFloat is a Nullable numeric column's merged value as Float64.
func NullableFloat(col string) Measure {
	return Measure{Expr: "toFloat64(" + Merged(col) + ")", Merges: []string{MergeNullable(col)}}
}

// duration is to - from in milliseconds when both are set and ordered,
// else NULL (an unfinished observation has no latency).
func duration(from, to string) Measure {
	f, t := Merged(from), Merged(to)
	return Measure{
		Expr:   fmt.Sprintf("if(%[1]s != 0 AND %[2]s != 0 AND %[2]s >= %[1]s, (%[2]s - %[1]s) / 1000000, NULL)", f, t),
		Merges: []string{MergeUint(from), MergeUint(to)},
	}
}

// ObservationMeasures are the measures of a merged observation, by the
// name that prefixes their columns in ObservationHours; the metrics API's
// raw path reads the same expressions, so both paths agree.
var ObservationMeasures = map[string]Measure{
	"latency":             duration(ColStartTime, ColEndTime),
	"time_to_first_token": duration(ColStartTime, ColCompletionStartTime),
	"input_tokens":        NullableFloat(ColUsageInput),
	"output_tokens":       NullableFloat(ColUsageOutput),
	"total_tokens": {
		Expr:   "toFloat64(" + EffectiveUsageTotal + ")",
		Merges: []string{MergeNullable(ColUsageInput), MergeNullable(ColUsageOutput), MergeNullable(ColUsageTotal)},
	},
	"input_cost":  NullableFloat(ColCostInput),
	"output_cost": NullableFloat(ColCostOutput),
	"total_cost":  NullableFloat(ColCostTotal),
	"errors": {
		Expr:   "if(" + Merged(ColLevel) + " = 'ERROR', 1, 0)",
		Merges: []string{MergeString(ColLevel)},
	},
}

// ObservationRollupDims are ObservationHours' dimensions of the
// observation itself: merged String columns, stored under their names.
var ObservationRollupDims = []string{ColName, ColType, ColModel, ColEnvironment, ColVersion, ColLevel}

// ObservationRollupTraceDims are ObservationHours' dimensions taken from
// the observation's merged trace: the trace's column and the rollup's.
var ObservationRollupTraceDims = []struct{ Trace, Column string }{
	{ColName, "trace_name"},
	{ColRelease, ColRelease},
}

// RollupValueMeasures are the measures whose every value a rollup row
// keeps (column <measure>_values), for exact percentiles.
var RollupValueMeasures = []string{"latency", "time_to_first_token"}

// RollupValues is the column of a measure's values.
func RollupValues(measure string) string { return measure + "_values" }

// RollupColumns names a measure's columns in a rollup: how many objects
// had a value, and the values' sum, least and greatest (0 when none had).
func RollupColumns(measure string) (n, sum, least, greatest string) {
	return measure + "_n", measure + "_sum", measure + "_min", measure + "_max"
}

// RollupAggregates are the aggregates a rollup keeps of a measure's
// values v (a Nullable expression) over a group of objects, in
// RollupColumns' order: how many had a value, their sum, least and
// greatest (0 when none had). Readers that combine rollup rows with raw
// rows aggregate the raw side with the same expressions.
func RollupAggregates(v string) (n, sum, least, greatest string) {
	return "count(" + v + ")", "toFloat64(ifNull(sum(" + v + "), 0))",
		"toFloat64(ifNull(min(" + v + "), 0))", "toFloat64(ifNull(max(" + v + "), 0))"
}

// RollupValuesAggregate is every value of v over a group, as a rollup's
// <measure>_values column keeps them.
func RollupValuesAggregate(v string) string {
	return "groupArrayIf(toFloat64(assumeNotNull(" + v + ")), isNotNull(" + v + "))"
}

// RollupCount is the column of a rollup row's object count.
const RollupCount = "n"

// rollupMeasureNames are ObservationMeasures' names in a fixed order.
var rollupMeasureNames = func() []string {
	names := make([]string, 0, len(ObservationMeasures))
	for n := range ObservationMeasures {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}()

// HourOf is the start of the hour of a nanosecond time expression.
func HourOf(t string) string {
	return fmt.Sprintf("intDiv(%s, %d) * %d", t, RollupHour, RollupHour)
}

// RollupObservationHours computes the observation rollup of the given
// hours (their starts, in nanoseconds) of one project under generation,
// then records them; an hour whose objects all moved or were deleted is
// recorded without rows. Generations must grow with every computation of
// an hour (the caller's clock).
func RollupObservationHours(ctx context.Context, conn driver.Conn, projectID string, hours []uint64, generation uint64) error {
	if len(hours) == 0 {
		return nil
	}
	hours = slices.Clone(hours)
	slices.Sort(hours)
	hours = slices.Compact(hours)
	set := clickhouse.GroupSet{Value: make([]any, len(hours))}
	for i, h := range hours {
		set.Value[i] = h
	}
	from, to := hours[0], hours[len(hours)-1]+RollupHour

	merges := []string{MergeUint(ColStartTime)}
	for _, d := range ObservationRollupDims {
		merges = append(merges, MergeString(d))
	}
	columns := []string{ColProjectID, "hour", "generation"}
	values := []string{"?", "h", "?"}
	group := []string{"h"}
	for _, d := range ObservationRollupDims {
		columns = append(columns, d)
		values = append(values, Merged(d))
		group = append(group, Merged(d))
	}
	traceMerges := []string{ColID + " AS " + ColTraceID}
	for _, d := range ObservationRollupTraceDims {
		alias := "t_" + d.Column
		traceMerges = append(traceMerges, MergeStringAs(d.Trace, alias))
		columns = append(columns, d.Column)
		values = append(values, alias)
		group = append(group, alias)
	}
	columns = append(columns, RollupCount)
	values = append(values, "count()")
	for _, name := range rollupMeasureNames {
		m := ObservationMeasures[name]
		for _, mg := range m.Merges {
			if !slices.Contains(merges, mg) {
				merges = append(merges, mg)
			}
		}
		n, sum, least, greatest := RollupColumns(name)
		columns = append(columns, n, sum, least, greatest)
		an, asum, aleast, agreatest := RollupAggregates(m.Expr)
		values = append(values, an, asum, aleast, agreatest)
	}
	for _, name := range RollupValueMeasures {
		columns = append(columns, RollupValues(name))
		values = append(values, RollupValuesAggregate(ObservationMeasures[name].Expr))
	}
	// The hours' objects: those with a version in the time index in the
	// hours (trace_id IN prunes by the sort key), merged, kept when their
	// merged start falls in one of the hours; then their traces, merged.
	inHours := "PREWHERE " + ColProjectID + " = ? WHERE " + ColStartTime + " >= ? AND " + ColStartTime + " < ? AND " +
		HourOf(ColStartTime) + " IN ?"
	indexed := func(cols string) string { return "SELECT " + cols + " FROM " + ObservationsByTime + " " + inHours }
	sql := "INSERT INTO " + ObservationHours + " (" + List(columns...) + ") SELECT " + List(values...) +
		" FROM (SELECT " + List(append([]string{ObservationKey}, merges...)...) + ", " + HourOf(Merged(ColStartTime)) + " AS h" +
		" FROM " + Observations + " PREWHERE " + ColProjectID + " = ? AND " + ColTraceID + " IN (" + indexed(ColTraceID) + ")" +
		" WHERE (" + ObservationKey + ") IN (" + indexed(ObservationKey) + ")" +
		" GROUP BY " + ObservationKey + " HAVING h IN ?)" +
		" ANY LEFT JOIN (SELECT " + List(traceMerges...) + " FROM " + Traces + " PREWHERE " + ColProjectID + " = ? AND " +
		ColID + " IN (" + indexed(ColTraceID) + ") GROUP BY " + ColID + ") USING " + ColTraceID +
		" GROUP BY " + List(group...)
	args := []any{projectID, generation, projectID, projectID, from, to, set, projectID, from, to, set, set,
		projectID, projectID, from, to, set}
	if err := conn.Exec(ctx, sql, args...); err != nil {
		return fmt.Errorf("roll up %d hours of observations: %w", len(hours), err)
	}
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO "+RollupHours+" ("+List(ColProjectID, "view", "hour", "generation")+")")
	if err != nil {
		return fmt.Errorf("record rolled up hours: %w", err)
	}
	for _, h := range hours {
		if err := batch.Append(projectID, RollupViewObservations, h, generation); err != nil {
			_ = batch.Abort()
			return fmt.Errorf("record rolled up hours: %w", err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("record rolled up hours: %w", err)
	}
	return nil
}

// ObservationHoursIn returns, per project, the hours (starts) in [from, to)
// in which observations have versions with a start time, from the time
// index: the hours a rollup of that span has to compute.
func ObservationHoursIn(ctx context.Context, conn driver.Conn, from, to uint64) (map[string][]uint64, error) {
	rows, err := conn.Query(ctx, "SELECT DISTINCT "+ColProjectID+", "+HourOf(ColStartTime)+" FROM "+ObservationsByTime+
		" WHERE "+ColStartTime+" >= ? AND "+ColStartTime+" < ?", from, to)
	if err != nil {
		return nil, fmt.Errorf("read observation hours: %w", err)
	}
	defer rows.Close()
	hours := map[string][]uint64{}
	for rows.Next() {
		var (
			project string
			hour    uint64
		)
		if err := rows.Scan(&project, &hour); err != nil {
			return nil, fmt.Errorf("read observation hours: %w", err)
		}
		hours[project] = append(hours[project], hour)
	}
	return hours, rows.Err()
}

// RollupProgressOf reads a view's progress mark (0 when none is recorded).
func RollupProgressOf(ctx context.Context, conn driver.Conn, view, name string) (uint64, error) {
	rows, err := conn.Query(ctx, "SELECT max(value) FROM "+RollupProgress+" WHERE view = ? AND name = ?", view, name)
	if err != nil {
		return 0, fmt.Errorf("read rollup progress: %w", err)
	}
	defer rows.Close()
	var v uint64
	if rows.Next() {
		if err := rows.Scan(&v); err != nil {
			return 0, fmt.Errorf("read rollup progress: %w", err)
		}
	}
	return v, rows.Err()
}

// SetRollupProgress records a view's progress mark; a mark never goes back
// (readers take the greatest).
func SetRollupProgress(ctx context.Context, conn driver.Conn, view, name string, value uint64) error {
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO "+RollupProgress+" (view, name, value)")
	if err == nil {
		if err = batch.Append(view, name, value); err == nil {
			err = batch.Send()
		} else {
			_ = batch.Abort()
		}
	}
	if err != nil {
		return fmt.Errorf("record rollup progress: %w", err)
	}
	return nil
}

// RollupSelectLatest is the condition that keeps the rows of each hour's
// newest recorded generation of a rollup table, for one project and view
// and an hour range: bind project, view, from, to.
var RollupSelectLatest = "(hour, generation) IN (SELECT hour, max(generation) FROM " + RollupHours +
	" PREWHERE " + ColProjectID + " = ? WHERE view = ? AND hour >= ? AND hour < ? GROUP BY hour)"
