-- Observations by time: the index of observation list pages, as 000004 is
-- for traces, on the start time. An observation is (trace_id, id).
CREATE TABLE IF NOT EXISTS observations_by_time
(
    project_id String,
    start_time UInt64,
    id String,
    trace_id String,
    event_date Date
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(event_date)
ORDER BY (project_id, start_time, id, trace_id);
