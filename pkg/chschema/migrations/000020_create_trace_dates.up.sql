-- Trace dates: the days (event_date) on which each trace has rows in
-- traces_v2 or observations_v2, so that a read of one trace prunes the
-- monthly partitions it has no rows in and does not slow down as months
-- accumulate. One row per (trace, day) once merged; a read takes the least
-- and greatest day. Filled by views on every insert (000021–000024) and from
-- the rows stored before them (000025). Scores are not here: a score's
-- updates need not name its trace, so reads of a trace's scores do not prune.
-- Retention and trace deletion remove its rows with the source rows. Reads
-- look up a page of random trace ids: 256-row granules keep that to a few
-- thousand rows (8192-row ones read 900k rows, 28 ms, at 1M traces).
CREATE TABLE IF NOT EXISTS trace_dates
(
    project_id String,
    trace_id String,
    event_date Date
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(event_date)
ORDER BY (project_id, trace_id, event_date)
SETTINGS index_granularity = 256;
