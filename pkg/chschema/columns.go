package chschema

// Column names of the three tables, as the migrations create them. Readers
// and writers build their SQL from these, so that a column is spelled in
// one place besides the DDL (TestColumnsMatchDDL holds the two together).
const (
	ColProjectID           = "project_id"
	ColID                  = "id"
	ColTraceID             = "trace_id"
	ColObservationID       = "observation_id"
	ColParentObservationID = "parent_observation_id"
	ColSessionID           = "session_id"
	ColUserID              = "user_id"
	ColName                = "name"
	ColTimestamp           = "timestamp"
	ColTags                = "tags"
	ColInput               = "input"
	ColOutput              = "output"
	ColRelease             = "release"
	ColVersion             = "version"
	ColEnvironment         = "environment"

	ColType                = "type"
	ColStartTime           = "start_time"
	ColEndTime             = "end_time"
	ColCompletionStartTime = "completion_start_time"
	ColLevel               = "level"
	ColStatusMessage       = "status_message"
	ColModel               = "model"
	ColUsageInput          = "usage_input"
	ColUsageOutput         = "usage_output"
	ColUsageTotal          = "usage_total"
	ColCostInput           = "cost_input"
	ColCostOutput          = "cost_output"
	ColCostTotal           = "cost_total"

	ColDataType    = "data_type"
	ColValue       = "value"
	ColStringValue = "string_value"
	ColComment     = "comment"
	ColSource      = "source"

	// ColEventID is the id of the event a row was written for; copies of
	// one event (redeliveries) share it.
	ColEventID = "event_id"
	// ColEventTS is when the event happened (nanoseconds): the version of
	// the row.
	ColEventTS = "event_ts"
	// ColIngestedAt is when the worker wrote the row (nanoseconds): the
	// ReplacingMergeTree version that collapses copies of one event.
	ColIngestedAt = "ingested_at"
	// ColEventDate is the partition date, filled by its DEFAULT from
	// event_ts; never written.
	ColEventDate = "event_date"
)

// MapColumns is a map stored as two parallel arrays, keys and values, sorted
// by key when the worker writes them (ClickHouse 18.16 has no Map type).
type MapColumns struct {
	Name   string // the map's name, which prefixes both columns
	Keys   string
	Values string
}

func mapColumns(name string) MapColumns {
	return MapColumns{Name: name, Keys: name + "_keys", Values: name + "_values"}
}

// The map columns: metadata on every table, model parameters and usage
// details (Int64 values) on observations.
var (
	Metadata        = mapColumns("metadata")
	ModelParameters = mapColumns("model_parameters")
	UsageDetails    = mapColumns("usage_details")
)
