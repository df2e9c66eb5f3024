package chschema

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Every row is one version of an object: it holds only the fields its
// event sets; "" / 0 / nil / empty slices mean "not set by this event".
// Readers merge the versions of one id (see merge.go); rows are never
// updated in place. Slices are never nil when written: ClickHouse arrays
// are [] when empty.

// Trace is one version of a trace (table traces).
type Trace struct {
	ProjectID      string
	ID             string
	Timestamp      uint64
	Name           string
	UserID         string
	SessionID      string
	Tags           []string
	MetadataKeys   []string
	MetadataValues []string
	Input          string
	Output         string
	Release        string
	Version        string
	Environment    string
	EventID        string
	EventTS        uint64
}

// Observation is one version of an observation (table observations).
type Observation struct {
	ProjectID             string
	TraceID               string
	ID                    string
	ParentObservationID   string
	Type                  string
	Name                  string
	StartTime             uint64
	EndTime               uint64
	CompletionStartTime   uint64
	Level                 string
	StatusMessage         string
	Model                 string
	ModelParametersKeys   []string
	ModelParametersValues []string
	UsageInput            *int64
	UsageOutput           *int64
	UsageTotal            *int64
	UsageDetailsKeys      []string
	UsageDetailsValues    []int64
	CostInput             *float64
	CostOutput            *float64
	CostTotal             *float64
	Input                 string
	Output                string
	MetadataKeys          []string
	MetadataValues        []string
	Version               string
	Environment           string
	EventID               string
	EventTS               uint64
}

// Score is one version of a score (table scores).
type Score struct {
	ProjectID      string
	ID             string
	TraceID        string
	ObservationID  string
	SessionID      string
	Name           string
	DataType       string
	Value          *float64
	StringValue    string
	Comment        string
	Source         string
	Timestamp      uint64
	MetadataKeys   []string
	MetadataValues []string
	Environment    string
	EventID        string
	EventTS        uint64
}

// Table maps rows of type R to the columns of one table.
type Table[R any] struct {
	// Name is the table's name.
	Name string
	// Kind names its rows in metric labels and audit records.
	Kind string
	// Columns are every column a writer names, in DDL order: all but
	// event_date, which its DEFAULT fills.
	Columns []string
	// TraceColumn holds the id of the trace a row belongs to (deletion
	// and retention count and delete by it).
	TraceColumn string
	// fields lists pointers to r's fields and to ingestedAt in the order
	// of Columns: values to append when writing, destinations to scan
	// into when reading rows back.
	fields func(r *R, ingestedAt *uint64) []any
}

// The three tables.
var (
	TraceTable = Table[Trace]{
		Name:        Traces,
		Kind:        KindTraces,
		TraceColumn: ColID,
		Columns: []string{
			ColProjectID, ColID, ColTimestamp, ColName, ColUserID, ColSessionID, ColTags,
			Metadata.Keys, Metadata.Values, ColInput, ColOutput, ColRelease, ColVersion,
			ColEnvironment, ColEventID, ColEventTS, ColIngestedAt,
		},
		fields: func(r *Trace, at *uint64) []any {
			return []any{
				&r.ProjectID, &r.ID, &r.Timestamp, &r.Name, &r.UserID, &r.SessionID, &r.Tags,
				&r.MetadataKeys, &r.MetadataValues, &r.Input, &r.Output, &r.Release, &r.Version,
				&r.Environment, &r.EventID, &r.EventTS, at,
			}
		},
	}
	ObservationTable = Table[Observation]{
		Name:        Observations,
		Kind:        KindObservations,
		TraceColumn: ColTraceID,
		Columns: []string{
			ColProjectID, ColTraceID, ColID, ColParentObservationID, ColType, ColName,
			ColStartTime, ColEndTime, ColCompletionStartTime, ColLevel, ColStatusMessage,
			ColModel, ModelParameters.Keys, ModelParameters.Values,
			ColUsageInput, ColUsageOutput, ColUsageTotal, UsageDetails.Keys, UsageDetails.Values,
			ColCostInput, ColCostOutput, ColCostTotal, ColInput, ColOutput,
			Metadata.Keys, Metadata.Values, ColVersion, ColEnvironment,
			ColEventID, ColEventTS, ColIngestedAt,
		},
		fields: func(r *Observation, at *uint64) []any {
			return []any{
				&r.ProjectID, &r.TraceID, &r.ID, &r.ParentObservationID, &r.Type, &r.Name,
				&r.StartTime, &r.EndTime, &r.CompletionStartTime, &r.Level, &r.StatusMessage,
				&r.Model, &r.ModelParametersKeys, &r.ModelParametersValues,
				&r.UsageInput, &r.UsageOutput, &r.UsageTotal, &r.UsageDetailsKeys, &r.UsageDetailsValues,
				&r.CostInput, &r.CostOutput, &r.CostTotal, &r.Input, &r.Output,
				&r.MetadataKeys, &r.MetadataValues, &r.Version, &r.Environment,
				&r.EventID, &r.EventTS, at,
			}
		},
	}
	ScoreTable = Table[Score]{
		Name:        Scores,
		Kind:        KindScores,
		TraceColumn: ColTraceID,
		Columns: []string{
			ColProjectID, ColID, ColTraceID, ColObservationID, ColSessionID, ColName,
			ColDataType, ColValue, ColStringValue, ColComment, ColSource, ColTimestamp,
			Metadata.Keys, Metadata.Values, ColEnvironment,
			ColEventID, ColEventTS, ColIngestedAt,
		},
		fields: func(r *Score, at *uint64) []any {
			return []any{
				&r.ProjectID, &r.ID, &r.TraceID, &r.ObservationID, &r.SessionID, &r.Name,
				&r.DataType, &r.Value, &r.StringValue, &r.Comment, &r.Source, &r.Timestamp,
				&r.MetadataKeys, &r.MetadataValues, &r.Environment,
				&r.EventID, &r.EventTS, at,
			}
		},
	}
)

// TableOfTraces names a table that holds rows of traces, the column holding
// their trace id and, for the three tables of objects, the kind of its rows.
type TableOfTraces struct{ Name, Kind, TraceColumn string }

// TraceTables are the three tables of objects, for what works on all three
// alike (trace deletion, retention).
var TraceTables = []TableOfTraces{
	{TraceTable.Name, TraceTable.Kind, TraceTable.TraceColumn},
	{ObservationTable.Name, ObservationTable.Kind, ObservationTable.TraceColumn},
	{ScoreTable.Name, ScoreTable.Kind, ScoreTable.TraceColumn},
}

// TimeIndexes are the time indexes. Their rows carry the event_date of the
// version they index.
var TimeIndexes = []TableOfTraces{
	{Name: TracesByTime, TraceColumn: ColID},
	{Name: ObservationsByTime, TraceColumn: ColTraceID},
}

// TraceDatesTable is TraceDates as a table of traces.
var TraceDatesTable = TableOfTraces{Name: TraceDates, TraceColumn: ColTraceID}

// TraceRefsTable is TraceRefs as a table of traces.
var TraceRefsTable = TableOfTraces{Name: TraceRefs, TraceColumn: ColTraceID}

// LegacyTables are the tables traces and observations moved from. Only a
// worker of an older release writes there (and its rows are carried on to
// TraceTables), but a rollback gives them their rows back, so deletion and
// retention keep them clean too.
var LegacyTables = []TableOfTraces{
	{Name: LegacyTraces, TraceColumn: ColID},
	{Name: LegacyObservations, TraceColumn: ColTraceID},
}

// TablesOfTraces is every table that holds rows of a trace: TraceTables,
// TimeIndexes, TraceDatesTable, TraceRefsTable, then LegacyTables.
// Deleting a trace or expiring a day removes from all.
var TablesOfTraces = slices.Concat(TraceTables, TimeIndexes, []TableOfTraces{TraceDatesTable, TraceRefsTable}, LegacyTables)

// InsertSQL is the explicit-column INSERT of the table (the form both
// ClickHouse 18.16 and current releases take over the native protocol).
func (t Table[R]) InsertSQL() string {
	return "INSERT INTO " + t.Name + " (" + strings.Join(t.Columns, ", ") + ")"
}

// SelectSQL reads the stored rows of the table, every column of Columns
// (for tests and tools; reads of merged objects use the merge expressions).
func (t Table[R]) SelectSQL() string {
	return "SELECT " + strings.Join(t.Columns, ", ") + " FROM " + t.Name
}

// ScanDest are the destinations a row of SelectSQL scans into.
func (t Table[R]) ScanDest(r *R, ingestedAt *uint64) []any { return t.fields(r, ingestedAt) }

// ErrValue marks a row the driver could not convert to its columns: a
// property of the row, not of the connection.
var ErrValue = errors.New("row value does not fit its column")

// Insert writes rows in one batch, every row stamped with ingestedAt. The
// rows are handed to the driver a column at a time, as typed slices: row
// by row, the driver would box and inspect every value. Errors from the
// driver's conversion of a column wrap ErrValue; any other error is the
// server's or the connection's.
func (t Table[R]) Insert(ctx context.Context, conn driver.Conn, rows []R, ingestedAt uint64) (err error) {
	batch, err := conn.PrepareBatch(ctx, t.InsertSQL())
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = batch.Abort()
		}
	}()
	cols := make([]column, len(t.Columns))
	for i := range rows {
		for c, p := range t.fields(&rows[i], &ingestedAt) {
			if cols[c] == nil {
				cols[c] = newColumn(p, len(rows))
			}
			cols[c].add(p)
		}
	}
	for c := range cols {
		if err := cols[c].appendTo(batch.Column(c)); err != nil {
			return fmt.Errorf("%w: column %s: %w", ErrValue, t.Columns[c], err)
		}
	}
	return batch.Send()
}

// column gathers one column's values in a slice of their Go type.
type column interface {
	// add appends the value p points to.
	add(p any)
	// appendTo hands the values to the batch's column.
	appendTo(col driver.BatchColumn) error
}

type typedColumn[T any] struct {
	vals []T
	// perRow hands the values over a row at a time: the driver appends a
	// whole column of arrays by reflection, element by element, and a
	// row's array through its typed path.
	perRow bool
}

func (c *typedColumn[T]) add(p any) { c.vals = append(c.vals, *p.(*T)) }

func (c *typedColumn[T]) appendTo(col driver.BatchColumn) error {
	if !c.perRow {
		return col.Append(c.vals)
	}
	for _, v := range c.vals {
		if err := col.AppendRow(v); err != nil {
			return err
		}
	}
	return nil
}

// newColumn returns the column for values of p's type, with room for n.
func newColumn(p any, n int) column {
	switch p.(type) {
	case *string:
		return &typedColumn[string]{vals: make([]string, 0, n)}
	case *uint64:
		return &typedColumn[uint64]{vals: make([]uint64, 0, n)}
	case *[]string:
		return &typedColumn[[]string]{vals: make([][]string, 0, n), perRow: true}
	case *[]int64:
		return &typedColumn[[]int64]{vals: make([][]int64, 0, n), perRow: true}
	case **int64:
		return &typedColumn[*int64]{vals: make([]*int64, 0, n)}
	case **float64:
		return &typedColumn[*float64]{vals: make([]*float64, 0, n)}
	}
	panic(fmt.Sprintf("chschema: no column type for %T", p))
}
