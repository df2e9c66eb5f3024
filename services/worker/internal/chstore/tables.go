package chstore

import (
	"github.com/agenttrace/agenttrace/pkg/chschema"
	"github.com/agenttrace/agenttrace/services/worker/internal/eventrows"
)

// The column lists name every column the worker writes; event_date is left
// to its DEFAULT. Keep them in step with pkg/chschema/migrations.

var traces = table[eventrows.Trace]{
	name: chschema.Traces,
	columns: []string{
		"project_id", "id", "timestamp", "name", "user_id", "session_id", "tags",
		"metadata_keys", "metadata_values", "input", "output", "release", "version",
		"environment", "event_id", "event_ts", "ingested_at",
	},
	values: func(r *eventrows.Trace, ingestedAt uint64) []any {
		return []any{
			r.ProjectID, r.ID, r.Timestamp, r.Name, r.UserID, r.SessionID, r.Tags,
			r.MetadataKeys, r.MetadataValues, r.Input, r.Output, r.Release, r.Version,
			r.Environment, r.EventID, r.EventTS, ingestedAt,
		}
	},
}

var observations = table[eventrows.Observation]{
	name: chschema.Observations,
	columns: []string{
		"project_id", "trace_id", "id", "parent_observation_id", "type", "name",
		"start_time", "end_time", "completion_start_time", "level", "status_message",
		"model", "model_parameters_keys", "model_parameters_values",
		"usage_input", "usage_output", "usage_total", "usage_details_keys", "usage_details_values",
		"cost_input", "cost_output", "cost_total", "input", "output",
		"metadata_keys", "metadata_values", "version", "environment",
		"event_id", "event_ts", "ingested_at",
	},
	values: func(r *eventrows.Observation, ingestedAt uint64) []any {
		return []any{
			r.ProjectID, r.TraceID, r.ID, r.ParentObservationID, r.Type, r.Name,
			r.StartTime, r.EndTime, r.CompletionStartTime, r.Level, r.StatusMessage,
			r.Model, r.ModelParametersKeys, r.ModelParametersValues,
			r.UsageInput, r.UsageOutput, r.UsageTotal, r.UsageDetailsKeys, r.UsageDetailsValues,
			r.CostInput, r.CostOutput, r.CostTotal, r.Input, r.Output,
			r.MetadataKeys, r.MetadataValues, r.Version, r.Environment,
			r.EventID, r.EventTS, ingestedAt,
		}
	},
}

var scores = table[eventrows.Score]{
	name: chschema.Scores,
	columns: []string{
		"project_id", "id", "trace_id", "observation_id", "session_id", "name",
		"data_type", "value", "string_value", "comment", "source", "timestamp",
		"metadata_keys", "metadata_values", "environment",
		"event_id", "event_ts", "ingested_at",
	},
	values: func(r *eventrows.Score, ingestedAt uint64) []any {
		return []any{
			r.ProjectID, r.ID, r.TraceID, r.ObservationID, r.SessionID, r.Name,
			r.DataType, r.Value, r.StringValue, r.Comment, r.Source, r.Timestamp,
			r.MetadataKeys, r.MetadataValues, r.Environment,
			r.EventID, r.EventTS, ingestedAt,
		}
	},
}
