package validation

import (
	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
)

func (c *checker) trace(b *ingestv1.TraceBody) {
	c.id("trace.id", b.GetId(), true)
	c.short("trace.name", b.GetName())
	c.timestamp("trace.timestamp", b.GetTimestamp())
	c.id("trace.user_id", b.GetUserId(), false)
	c.id("trace.session_id", b.GetSessionId(), false)
	c.tags("trace.tags", b.GetTags())
	c.stringMap("trace.metadata", b.GetMetadata())
	c.value("trace.input", b.GetInput())
	c.value("trace.output", b.GetOutput())
	c.short("trace.release", b.GetRelease())
	c.short("trace.version", b.GetVersion())
	c.short("trace.environment", b.GetEnvironment())
}

func (c *checker) observation(b *ingestv1.ObservationBody, create bool) {
	c.id("observation.id", b.GetId(), true)
	// Required on updates too: observations are stored and merged per trace.
	c.id("observation.trace_id", b.GetTraceId(), true)
	c.id("observation.parent_observation_id", b.GetParentObservationId(), false)
	if b.ParentObservationId != nil && b.GetParentObservationId() == b.GetId() {
		c.fail("observation.parent_observation_id", "must differ from observation.id: an observation cannot be its own parent")
	}
	c.enum("observation.type", b.GetType(), create)
	c.short("observation.name", b.GetName())
	c.timestamp("observation.start_time", b.GetStartTime())
	c.timestamp("observation.end_time", b.GetEndTime())
	c.timestamp("observation.completion_start_time", b.GetCompletionStartTime())
	c.notBefore("observation.end_time", b.GetEndTime(), "observation.start_time", b.GetStartTime())
	c.notBefore("observation.completion_start_time", b.GetCompletionStartTime(), "observation.start_time", b.GetStartTime())
	c.enum("observation.level", b.GetLevel(), false)
	c.text("observation.status_message", b.GetStatusMessage())
	c.short("observation.model", b.GetModel())
	c.stringMap("observation.model_parameters", b.GetModelParameters())
	c.usage("observation.usage", b.GetUsage())
	c.cost("observation.cost", b.GetCost())
	c.value("observation.input", b.GetInput())
	c.value("observation.output", b.GetOutput())
	c.stringMap("observation.metadata", b.GetMetadata())
	c.short("observation.version", b.GetVersion())
	c.short("observation.environment", b.GetEnvironment())
}

func (c *checker) score(b *ingestv1.ScoreBody, create bool) {
	c.id("score.id", b.GetId(), true)
	c.id("score.trace_id", b.GetTraceId(), false)
	c.id("score.observation_id", b.GetObservationId(), false)
	c.id("score.session_id", b.GetSessionId(), false)
	switch {
	case b.GetTraceId() == "" && b.GetSessionId() == "":
		c.fail("score.trace_id", "required unless score.session_id is set: a score belongs to a trace or a session")
	case b.GetObservationId() != "" && b.GetTraceId() == "":
		c.fail("score.trace_id", "required when score.observation_id is set: an observation belongs to a trace")
	}
	if create && b.GetName() == "" {
		c.fail("score.name", "required when creating a score")
	}
	c.short("score.name", b.GetName())
	c.enum("score.data_type", b.GetDataType(), false)
	c.scoreValue(b, create)
	c.short("score.string_value", b.GetStringValue())
	c.text("score.comment", b.GetComment())
	c.enum("score.source", b.GetSource(), false)
	c.timestamp("score.timestamp", b.GetTimestamp())
	c.stringMap("score.metadata", b.GetMetadata())
	c.short("score.environment", b.GetEnvironment())
}

// scoreValue checks that the value fields match the data type. A create
// without a data type must carry a value or a string_value to infer it from.
func (c *checker) scoreValue(b *ingestv1.ScoreBody, create bool) {
	c.finite("score.value", b.Value)
	if c.err != nil {
		return
	}
	switch b.GetDataType() {
	case commonv1.ScoreDataType_SCORE_DATA_TYPE_UNSPECIFIED:
		if create && b.Value == nil && b.StringValue == nil {
			c.fail("score.value", "required when creating a score: set value (numeric) or string_value (categorical), or name the data_type")
		}
	case commonv1.ScoreDataType_SCORE_DATA_TYPE_NUMERIC:
		if b.Value == nil {
			c.fail("score.value", "required for a NUMERIC score")
		}
	case commonv1.ScoreDataType_SCORE_DATA_TYPE_BOOLEAN:
		if b.Value == nil || (b.GetValue() != 0 && b.GetValue() != 1) {
			c.fail("score.value", "must be 0 or 1 for a BOOLEAN score")
		}
	case commonv1.ScoreDataType_SCORE_DATA_TYPE_CATEGORICAL:
		if b.GetStringValue() == "" {
			c.fail("score.string_value", "required for a CATEGORICAL score")
		}
	}
}

func (c *checker) usage(field string, u *commonv1.Usage) {
	if u == nil {
		return
	}
	c.count(field+".input", u.Input)
	c.count(field+".output", u.Output)
	c.count(field+".total", u.Total)
	if c.err != nil {
		return
	}
	details := u.GetDetails()
	if len(details) > c.lim.MaxMapEntries {
		c.fail(field+".details", "has %d entries, at most %d allowed", len(details), c.lim.MaxMapEntries)
		return
	}
	for k, v := range details {
		c.mapKey(field+".details", k)
		if v < 0 {
			c.fail(field+".details", "count %q is %d: counts must not be negative", k, v)
		}
	}
}

func (c *checker) cost(field string, cost *commonv1.Cost) {
	if cost == nil {
		return
	}
	c.price(field+".input", cost.Input)
	c.price(field+".output", cost.Output)
	c.price(field+".total", cost.Total)
}
