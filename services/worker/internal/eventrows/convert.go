package eventrows

import (
	"fmt"

	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
)

// eventMeta is what every row takes from its event rather than its body.
type eventMeta struct {
	project string
	id      string
	ts      uint64
}

func traceRow(m eventMeta, t *ingestv1.TraceBody) (Trace, error) {
	if t.GetId() == "" {
		return Trace{}, fmt.Errorf("trace.id is empty")
	}
	var c converter
	row := Trace{
		ProjectID:   m.project,
		ID:          t.GetId(),
		Timestamp:   c.time("trace.timestamp", t.GetTimestamp()),
		Name:        t.GetName(),
		UserID:      t.GetUserId(),
		SessionID:   t.GetSessionId(),
		Tags:        nonNil(t.GetTags()),
		Input:       c.json("trace.input", t.GetInput()),
		Output:      c.json("trace.output", t.GetOutput()),
		Release:     t.GetRelease(),
		Version:     t.GetVersion(),
		Environment: t.GetEnvironment(),
		EventID:     m.id,
		EventTS:     m.ts,
	}
	row.MetadataKeys, row.MetadataValues = pairs(t.GetMetadata())
	return row, c.err
}

func observationRow(m eventMeta, o *ingestv1.ObservationBody) (Observation, error) {
	if o.GetId() == "" {
		return Observation{}, fmt.Errorf("observation.id is empty")
	}
	// The row's sort key starts with trace_id; a row without one could never
	// be found by GetTrace.
	if o.GetTraceId() == "" {
		return Observation{}, fmt.Errorf("observation.trace_id is empty")
	}
	var c converter
	row := Observation{
		ProjectID:           m.project,
		TraceID:             o.GetTraceId(),
		ID:                  o.GetId(),
		ParentObservationID: o.GetParentObservationId(),
		Type:                c.enum("observation.type", o.GetType(), "OBSERVATION_TYPE_"),
		Name:                o.GetName(),
		StartTime:           c.time("observation.start_time", o.GetStartTime()),
		EndTime:             c.time("observation.end_time", o.GetEndTime()),
		CompletionStartTime: c.time("observation.completion_start_time", o.GetCompletionStartTime()),
		Level:               c.enum("observation.level", o.GetLevel(), "OBSERVATION_LEVEL_"),
		StatusMessage:       o.GetStatusMessage(),
		Model:               o.GetModel(),
		Input:               c.json("observation.input", o.GetInput()),
		Output:              c.json("observation.output", o.GetOutput()),
		Version:             o.GetVersion(),
		Environment:         o.GetEnvironment(),
		EventID:             m.id,
		EventTS:             m.ts,
	}
	row.ModelParametersKeys, row.ModelParametersValues = pairs(o.GetModelParameters())
	row.MetadataKeys, row.MetadataValues = pairs(o.GetMetadata())
	if u := o.GetUsage(); u != nil {
		row.UsageInput, row.UsageOutput, row.UsageTotal = u.Input, u.Output, u.Total
		row.UsageDetailsKeys, row.UsageDetailsValues = pairs(u.GetDetails())
	} else {
		row.UsageDetailsKeys, row.UsageDetailsValues = []string{}, []int64{}
	}
	if cost := o.GetCost(); cost != nil {
		row.CostInput, row.CostOutput, row.CostTotal = cost.Input, cost.Output, cost.Total
	}
	return row, c.err
}

func scoreRow(m eventMeta, s *ingestv1.ScoreBody) (Score, error) {
	if s.GetId() == "" {
		return Score{}, fmt.Errorf("score.id is empty")
	}
	if s.GetTraceId() == "" && s.GetSessionId() == "" {
		return Score{}, fmt.Errorf("score has neither trace_id nor session_id")
	}
	var c converter
	row := Score{
		ProjectID:     m.project,
		ID:            s.GetId(),
		TraceID:       s.GetTraceId(),
		ObservationID: s.GetObservationId(),
		SessionID:     s.GetSessionId(),
		Name:          s.GetName(),
		DataType:      c.enum("score.data_type", s.GetDataType(), "SCORE_DATA_TYPE_"),
		Value:         s.Value,
		StringValue:   s.GetStringValue(),
		Comment:       s.GetComment(),
		Source:        c.enum("score.source", s.GetSource(), "SCORE_SOURCE_"),
		Timestamp:     c.time("score.timestamp", s.GetTimestamp()),
		Environment:   s.GetEnvironment(),
		EventID:       m.id,
		EventTS:       m.ts,
	}
	row.MetadataKeys, row.MetadataValues = pairs(s.GetMetadata())
	return row, c.err
}
