-- See 000001 for the versioning model. A trace's observations sit together
-- (sort key starts with project_id, trace_id) so GetTrace reads one range.
CREATE TABLE IF NOT EXISTS observations
(
    project_id String,
    trace_id String,
    id String,
    parent_observation_id String,
    type String,
    name String,
    start_time UInt64,
    end_time UInt64,
    completion_start_time UInt64,
    level String,
    status_message String,
    model String,
    model_parameters_keys Array(String),
    model_parameters_values Array(String),
    usage_input Nullable(Int64),
    usage_output Nullable(Int64),
    usage_total Nullable(Int64),
    usage_details_keys Array(String),
    usage_details_values Array(Int64),
    cost_input Nullable(Float64),
    cost_output Nullable(Float64),
    cost_total Nullable(Float64),
    input String,
    output String,
    metadata_keys Array(String),
    metadata_values Array(String),
    version String,
    environment String,
    event_id String,
    event_ts UInt64,
    ingested_at UInt64,
    event_date Date DEFAULT toDate(toDateTime(intDiv(event_ts, 1000000000)))
)
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(event_date)
ORDER BY (project_id, trace_id, id, event_id);
