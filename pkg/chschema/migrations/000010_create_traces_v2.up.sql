-- traces_v2: traces (000001) stored again with index_granularity = 1024.
-- Reads pick rows by id (a page's traces, a trace's rows), which sit far
-- apart in the sort order: with 8192-row granules each id costs a whole
-- granule of every column read in every part, so a page of 50 ids read most
-- of the table's narrow columns at 10M observations. 1024-row granules cut
-- that eightfold for eight times the primary index in memory (about 120 bytes
-- of key per 1024 rows). The layout is otherwise that of traces, and the
-- versioning model of 000001 holds unchanged. Writers insert here from this
-- version on; traces is bridged into it (000012), copied (000013) and emptied
-- (000018).
CREATE TABLE IF NOT EXISTS traces_v2
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
ORDER BY (project_id, id, event_id)
SETTINGS index_granularity = 1024;
