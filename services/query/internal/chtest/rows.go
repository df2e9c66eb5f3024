package chtest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
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

// InsertTraces writes trace rows in one batch.
func InsertTraces(tb testing.TB, conn driver.Conn, rows ...Trace) {
	tb.Helper()
	insert(tb, conn, "traces", []string{"project_id", "id", "timestamp", "name", "user_id", "session_id", "tags",
		"metadata_keys", "metadata_values", "input", "output", "release", "version", "environment",
		"event_id", "event_ts", "ingested_at"}, len(rows), func(i int) []any {
		r := rows[i]
		mk, mv := split(r.Metadata)
		r.EventID = eventID(r.EventID, r.ID, r.EventTS)
		return []any{r.ProjectID, r.ID, r.Timestamp, r.Name, r.UserID, r.SessionID, orEmpty(r.Tags),
			mk, mv, r.Input, r.Output, r.Release, r.Version, r.Environment, r.EventID, r.EventTS, r.EventTS + 1}
	})
}

// InsertObservations writes observation rows in one batch.
func InsertObservations(tb testing.TB, conn driver.Conn, rows ...Observation) {
	tb.Helper()
	insert(tb, conn, "observations", []string{"project_id", "trace_id", "id", "parent_observation_id", "type", "name",
		"start_time", "end_time", "completion_start_time", "level", "status_message", "model",
		"model_parameters_keys", "model_parameters_values", "usage_input", "usage_output", "usage_total",
		"usage_details_keys", "usage_details_values", "cost_input", "cost_output", "cost_total",
		"input", "output", "metadata_keys", "metadata_values", "version", "environment",
		"event_id", "event_ts", "ingested_at"}, len(rows), func(i int) []any {
		r := rows[i]
		r.EventID = eventID(r.EventID, r.ID, r.EventTS)
		pk, pv := split(r.ModelParameters)
		mk, mv := split(r.Metadata)
		dk, dv := []string{}, []int64{}
		for k, v := range r.UsageDetails {
			dk, dv = append(dk, k), append(dv, v)
		}
		return []any{r.ProjectID, r.TraceID, r.ID, r.ParentID, r.Type, r.Name, r.Start, r.End, r.CompletionStart,
			r.Level, r.StatusMessage, r.Model, pk, pv, r.UsageInput, r.UsageOutput, r.UsageTotal, dk, dv,
			r.CostInput, r.CostOutput, r.CostTotal, r.Input, r.Output, mk, mv, r.Version, r.Environment,
			r.EventID, r.EventTS, r.EventTS + 1}
	})
}

// InsertScores writes score rows in one batch.
func InsertScores(tb testing.TB, conn driver.Conn, rows ...Score) {
	tb.Helper()
	insert(tb, conn, "scores", []string{"project_id", "id", "trace_id", "observation_id", "session_id", "name",
		"data_type", "value", "string_value", "comment", "source", "timestamp", "metadata_keys", "metadata_values",
		"environment", "event_id", "event_ts", "ingested_at"}, len(rows), func(i int) []any {
		r := rows[i]
		mk, mv := split(r.Metadata)
		r.EventID = eventID(r.EventID, r.ID, r.EventTS)
		return []any{r.ProjectID, r.ID, r.TraceID, r.ObservationID, r.SessionID, r.Name, r.DataType, r.Value,
			r.StringValue, r.Comment, r.Source, r.Timestamp, mk, mv, r.Environment, r.EventID, r.EventTS, r.EventTS + 1}
	})
}

// eventID defaults a row's event id to one derived from its object and version.
func eventID(eventID, id string, ts uint64) string {
	if eventID != "" {
		return eventID
	}
	return fmt.Sprintf("%s@%d", id, ts)
}

func insert(tb testing.TB, conn driver.Conn, table string, cols []string, n int, row func(int) []any) {
	tb.Helper()
	ctx := context.Background()
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO "+table+" ("+strings.Join(cols, ", ")+")")
	if err != nil {
		tb.Fatalf("prepare insert into %s: %v", table, err)
	}
	for i := range n {
		if err := batch.Append(row(i)...); err != nil {
			tb.Fatalf("append to %s: %v", table, err)
		}
	}
	if err := batch.Send(); err != nil {
		tb.Fatalf("insert into %s: %v", table, err)
	}
}
