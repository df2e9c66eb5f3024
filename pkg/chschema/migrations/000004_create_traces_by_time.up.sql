-- Traces by time: the index of trace list pages. One row per stored trace
-- version that sets a timestamp, sorted by it, so a page newest-first reads
-- a range of this table instead of merging every trace of the project.
-- A trace's merged timestamp is the timestamp of one of its versions, so
-- every trace is found here at its merged timestamp; rows of versions that
-- lost the merge are skipped by the reader, which merges its candidates.
-- Filled by traces_by_time_mv from every insert into traces (000005) and
-- from the rows stored before it (000006). Its rows carry their version's
-- event_date so retention and trace deletion treat them like the source.
CREATE TABLE IF NOT EXISTS traces_by_time
(
    project_id String,
    timestamp UInt64,
    id String,
    event_date Date
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(event_date)
ORDER BY (project_id, timestamp, id);
