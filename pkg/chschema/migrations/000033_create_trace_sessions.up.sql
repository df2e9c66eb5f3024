-- trace_sessions: the traces that name each session, one row per (session,
-- trace, day) of every version that sets a session id, so that the reads
-- of a session (GetSession, a page of sessions' traces and totals) find its
-- traces by the sort key instead of reading the session id of every trace
-- of the project. A trace whose versions name two sessions is under both;
-- readers keep it in the one its merged session names. Filled by views on
-- every insert (000034, 000035) and from the rows stored before them
-- (000036); retention and trace deletion remove its rows with the traces'.
CREATE TABLE IF NOT EXISTS trace_sessions
(
    project_id String,
    session_id String,
    trace_id String,
    event_date Date
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(event_date)
ORDER BY (project_id, session_id, trace_id, event_date)
SETTINGS index_granularity = 1024;
