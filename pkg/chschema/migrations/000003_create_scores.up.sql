-- See 000001 for the versioning model. Session scores have trace_id ''.
CREATE TABLE IF NOT EXISTS scores
(
    project_id String,
    id String,
    trace_id String,
    observation_id String,
    session_id String,
    name String,
    data_type String,
    value Nullable(Float64),
    string_value String,
    comment String,
    source String,
    timestamp UInt64,
    metadata_keys Array(String),
    metadata_values Array(String),
    environment String,
    event_id String,
    event_ts UInt64,
    ingested_at UInt64,
    event_date Date DEFAULT toDate(toDateTime(intDiv(event_ts, 1000000000)))
)
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(event_date)
ORDER BY (project_id, trace_id, id, event_id);
