-- Append-only, versioned rows. Every ingested event becomes one row holding
-- only the fields it sets ('' / 0 / NULL / [] mean "not set by this event").
-- Readers merge the versions of one id: for each field, the value of the
-- newest event (event_ts) that set it. Rows are never updated in place.
-- ReplacingMergeTree(ingested_at) with event_id in the sort key collapses the
-- copies of one event that a redelivery may write twice.
-- Portable between ClickHouse 18.16 and current releases: integer nanosecond
-- timestamps, parallel key/value arrays, no Map/JSON/DateTime64/LowCardinality/TTL.
CREATE TABLE IF NOT EXISTS traces
(
    project_id String,
    id String,
    timestamp UInt64,
    name String,
    user_id String,
    session_id String,
    tags Array(String),
    metadata_keys Array(String),
    metadata_values Array(String),
    input String,
    output String,
    release String,
    version String,
    environment String,
    event_id String,
    event_ts UInt64,
    ingested_at UInt64,
    event_date Date DEFAULT toDate(toDateTime(intDiv(event_ts, 1000000000)))
)
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(event_date)
ORDER BY (project_id, id, event_id);
