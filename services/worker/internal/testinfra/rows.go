package testinfra

import (
	"context"
	"sort"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/agenttrace/agenttrace/services/worker/internal/eventrows"
)

// Stored is every row of the three tables, in sort-key order, and the
// ingested_at of each (traces, then observations, then scores).
type Stored struct {
	eventrows.Batch
	IngestedAt []uint64
}

// ReadRows reads back every row the worker wrote to conn's database.
func ReadRows(t testing.TB, conn driver.Conn) Stored {
	t.Helper()
	var s Stored
	query(t, conn, `SELECT project_id, id, timestamp, name, user_id, session_id, tags, metadata_keys,
		metadata_values, input, output, release, version, environment, event_id, event_ts, ingested_at
		FROM traces ORDER BY project_id, id, event_id`, func(scan func(...any) error) error {
		var r eventrows.Trace
		var at uint64
		err := scan(&r.ProjectID, &r.ID, &r.Timestamp, &r.Name, &r.UserID, &r.SessionID, &r.Tags, &r.MetadataKeys,
			&r.MetadataValues, &r.Input, &r.Output, &r.Release, &r.Version, &r.Environment, &r.EventID, &r.EventTS, &at)
		s.Traces, s.IngestedAt = append(s.Traces, r), append(s.IngestedAt, at)
		return err
	})
	query(t, conn, `SELECT project_id, trace_id, id, parent_observation_id, type, name, start_time, end_time,
		completion_start_time, level, status_message, model, model_parameters_keys, model_parameters_values,
		usage_input, usage_output, usage_total, usage_details_keys, usage_details_values,
		cost_input, cost_output, cost_total, input, output, metadata_keys, metadata_values, version, environment,
		event_id, event_ts, ingested_at
		FROM observations ORDER BY project_id, trace_id, id, event_id`, func(scan func(...any) error) error {
		var r eventrows.Observation
		var at uint64
		err := scan(&r.ProjectID, &r.TraceID, &r.ID, &r.ParentObservationID, &r.Type, &r.Name, &r.StartTime, &r.EndTime,
			&r.CompletionStartTime, &r.Level, &r.StatusMessage, &r.Model, &r.ModelParametersKeys, &r.ModelParametersValues,
			&r.UsageInput, &r.UsageOutput, &r.UsageTotal, &r.UsageDetailsKeys, &r.UsageDetailsValues,
			&r.CostInput, &r.CostOutput, &r.CostTotal, &r.Input, &r.Output, &r.MetadataKeys, &r.MetadataValues,
			&r.Version, &r.Environment, &r.EventID, &r.EventTS, &at)
		s.Observations, s.IngestedAt = append(s.Observations, r), append(s.IngestedAt, at)
		return err
	})
	query(t, conn, `SELECT project_id, id, trace_id, observation_id, session_id, name, data_type, value,
		string_value, comment, source, timestamp, metadata_keys, metadata_values, environment,
		event_id, event_ts, ingested_at
		FROM scores ORDER BY project_id, trace_id, id, event_id`, func(scan func(...any) error) error {
		var r eventrows.Score
		var at uint64
		err := scan(&r.ProjectID, &r.ID, &r.TraceID, &r.ObservationID, &r.SessionID, &r.Name, &r.DataType, &r.Value,
			&r.StringValue, &r.Comment, &r.Source, &r.Timestamp, &r.MetadataKeys, &r.MetadataValues, &r.Environment,
			&r.EventID, &r.EventTS, &at)
		s.Scores, s.IngestedAt = append(s.Scores, r), append(s.IngestedAt, at)
		return err
	})
	return s
}

func query(t testing.TB, conn driver.Conn, q string, row func(scan func(...any) error) error) {
	t.Helper()
	rows, err := conn.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows.Scan); err != nil {
			t.Fatalf("scan: %v", err)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("rows: %v", err)
	}
}

// Metric is the value of the counter, gauge or histogram sample count named
// name whose labels include the given name/value pairs; 0 when absent.
func Metric(t testing.TB, g prometheus.Gatherer, name string, labelPairs ...string) float64 {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			for i := 0; i+1 < len(labelPairs); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labelPairs[i] && lp.GetValue() == labelPairs[i+1] {
						found = true
					}
				}
				if !found {
					continue metrics
				}
			}
			switch {
			case m.Counter != nil:
				return m.GetCounter().GetValue()
			case m.Gauge != nil:
				return m.GetGauge().GetValue()
			case m.Histogram != nil:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return 0
}

// RowKeys names every stored row as "table project trace event_id", sorted:
// a compact view for tests about which rows a deletion left.
func RowKeys(t testing.TB, conn driver.Conn) []string {
	t.Helper()
	var keys []string
	for _, q := range []string{
		"SELECT 'traces', project_id, id, event_id FROM traces",
		"SELECT 'observations', project_id, trace_id, event_id FROM observations",
		"SELECT 'scores', project_id, trace_id, event_id FROM scores",
	} {
		query(t, conn, q, func(scan func(...any) error) error {
			var table, project, trace, event string
			err := scan(&table, &project, &trace, &event)
			keys = append(keys, table+" "+project+" "+trace+" "+event)
			return err
		})
	}
	sort.Strings(keys)
	return keys
}
