-- observations_v2: observations (000002) stored again with index_granularity
-- = 1024. Reads pick rows by id (a page's observations, a trace's rows),
-- which sit far apart in the sort order: with 8192-row granules each id costs
-- a whole granule of every column read in every part, so a page of 50 ids
-- read most of the table's narrow columns at 10M observations. 1024-row
-- granules cut that eightfold for eight times the primary index in memory
-- (about 120 bytes of key per 1024 rows). The layout is otherwise that of
-- observations, and the versioning model of 000001 holds unchanged. Writers
-- insert here from this version on; observations is bridged into it (000016),
-- copied (000017) and emptied (000019).
CREATE TABLE IF NOT EXISTS observations_v2
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
ORDER BY (project_id, trace_id, id, event_id)
SETTINGS index_granularity = 1024;
