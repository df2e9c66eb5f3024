-- trace_refs: the traces that name each session and each user, one row per
-- (field, value, trace, day) of every version that sets the field, so that
-- the reads of a session (GetSession, a page of sessions' traces and
-- totals) and the lists filtered by user or session find their traces by
-- the sort key instead of reading the field of every trace of the project.
-- field is 'session' or 'user'. A trace whose versions name two sessions is
-- under both; readers keep it where its merged value puts it. Filled by
-- views on every insert (000034, 000035) and from the rows stored before
-- them (000036); retention and trace deletion remove its rows with the
-- traces'.
CREATE TABLE IF NOT EXISTS trace_refs
(
    project_id String,
    field String,
    value String,
    trace_id String,
    event_date Date
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(event_date)
ORDER BY (project_id, field, value, trace_id, event_date)
SETTINGS index_granularity = 1024;
