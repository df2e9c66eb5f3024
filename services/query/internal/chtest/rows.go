package chtest

import (
	"context"
	"fmt"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/agenttrace/agenttrace/pkg/chschema"
)

// Trace is one version row of a trace; zero fields are "not set".
type Trace struct {
	ProjectID, ID                 string
	Timestamp                     uint64
	Name, UserID, SessionID       string
	Tags                          []string
	Metadata                      [][2]string
	Input, Output                 string
	Release, Version, Environment string
	EventID                       string
	EventTS                       uint64
}

// Observation is one version row of an observation; zero fields are "not set".
type Observation struct {
	ProjectID, TraceID, ID, ParentID string
	Type, Name                       string
	Start, End, CompletionStart      uint64
	Level, StatusMessage, Model      string
	ModelParameters                  [][2]string
	UsageInput, UsageOutput          *int64
	UsageTotal                       *int64
	UsageDetails                     map[string]int64
	CostInput, CostOutput, CostTotal *float64
	Input, Output                    string
	Metadata                         [][2]string
	Version, Environment             string
	EventID                          string
	EventTS                          uint64
}

// Score is one version row of a score; zero fields are "not set".
type Score struct {
	ProjectID, ID, TraceID, ObservationID, SessionID string
	Name, DataType                                   string
	Value                                            *float64
	StringValue, Comment, Source                     string
	Timestamp                                        uint64
	Metadata                                         [][2]string
	Environment                                      string
	EventID                                          string
	EventTS                                          uint64
}

// I and F make optional values.
func I(v int64) *int64     { return &v }
func F(v float64) *float64 { return &v }

func split(kv [][2]string) (keys, values []string) {
	keys, values = []string{}, []string{}
	for _, p := range kv {
		keys, values = append(keys, p[0]), append(values, p[1])
	}
	return keys, values
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Each fixture row is written as the chschema row it stands for; the maps
// keep the order the test gives (the merge must not depend on the worker's
// key order).

// InsertTraces writes trace rows in one batch.
func InsertTraces(tb testing.TB, conn driver.Conn, rows ...Trace) {
	tb.Helper()
	out := make([]chschema.Trace, len(rows))
	for i, r := range rows {
		mk, mv := split(r.Metadata)
		out[i] = chschema.Trace{ProjectID: r.ProjectID, ID: r.ID, Timestamp: r.Timestamp, Name: r.Name,
			UserID: r.UserID, SessionID: r.SessionID, Tags: orEmpty(r.Tags), MetadataKeys: mk, MetadataValues: mv,
			Input: r.Input, Output: r.Output, Release: r.Release, Version: r.Version, Environment: r.Environment,
			EventID: eventID(r.EventID, r.ID, r.EventTS), EventTS: r.EventTS}
	}
	insert(tb, conn, chschema.TraceTable, out, func(r *chschema.Trace) uint64 { return r.EventTS })
}

// InsertObservations writes observation rows in one batch.
func InsertObservations(tb testing.TB, conn driver.Conn, rows ...Observation) {
	tb.Helper()
	out := make([]chschema.Observation, len(rows))
	for i, r := range rows {
		pk, pv := split(r.ModelParameters)
		mk, mv := split(r.Metadata)
		dk, dv := []string{}, []int64{}
		for k, v := range r.UsageDetails {
			dk, dv = append(dk, k), append(dv, v)
		}
		out[i] = chschema.Observation{ProjectID: r.ProjectID, TraceID: r.TraceID, ID: r.ID,
			ParentObservationID: r.ParentID, Type: r.Type, Name: r.Name,
			StartTime: r.Start, EndTime: r.End, CompletionStartTime: r.CompletionStart,
			Level: r.Level, StatusMessage: r.StatusMessage, Model: r.Model,
			ModelParametersKeys: pk, ModelParametersValues: pv,
			UsageInput: r.UsageInput, UsageOutput: r.UsageOutput, UsageTotal: r.UsageTotal,
			UsageDetailsKeys: dk, UsageDetailsValues: dv,
			CostInput: r.CostInput, CostOutput: r.CostOutput, CostTotal: r.CostTotal,
			Input: r.Input, Output: r.Output, MetadataKeys: mk, MetadataValues: mv,
			Version: r.Version, Environment: r.Environment,
			EventID: eventID(r.EventID, r.ID, r.EventTS), EventTS: r.EventTS}
	}
	insert(tb, conn, chschema.ObservationTable, out, func(r *chschema.Observation) uint64 { return r.EventTS })
}

// InsertScores writes score rows in one batch.
func InsertScores(tb testing.TB, conn driver.Conn, rows ...Score) {
	tb.Helper()
	out := make([]chschema.Score, len(rows))
	for i, r := range rows {
		mk, mv := split(r.Metadata)
		out[i] = chschema.Score{ProjectID: r.ProjectID, ID: r.ID, TraceID: r.TraceID, ObservationID: r.ObservationID,
			SessionID: r.SessionID, Name: r.Name, DataType: r.DataType, Value: r.Value, StringValue: r.StringValue,
			Comment: r.Comment, Source: r.Source, Timestamp: r.Timestamp, MetadataKeys: mk, MetadataValues: mv,
			Environment: r.Environment, EventID: eventID(r.EventID, r.ID, r.EventTS), EventTS: r.EventTS}
	}
	insert(tb, conn, chschema.ScoreTable, out, func(r *chschema.Score) uint64 { return r.EventTS })
}

// eventID defaults a row's event id to one derived from its object and version.
func eventID(eventID, id string, ts uint64) string {
	if eventID != "" {
		return eventID
	}
	return fmt.Sprintf("%s@%d", id, ts)
}

// insert writes rows in one batch, stamped the way the worker stamps a
// batch: one ingested_at for all (here the newest event's, plus one).
func insert[R any](tb testing.TB, conn driver.Conn, table chschema.Table[R], rows []R, eventTS func(*R) uint64) {
	tb.Helper()
	var at uint64
	for i := range rows {
		at = max(at, eventTS(&rows[i])+1)
	}
	if err := table.Insert(context.Background(), conn, rows, at); err != nil {
		tb.Fatalf("insert into %s: %v", table.Name, err)
	}
}
