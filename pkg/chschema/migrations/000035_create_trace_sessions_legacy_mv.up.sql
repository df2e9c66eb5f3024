-- See 000033: the sessions of rows a worker of an older release writes into
-- traces, which ClickHouse 18.16 does not pass on from traces_to_v2_mv to
-- the views of traces_v2 (see 000023).
CREATE MATERIALIZED VIEW IF NOT EXISTS trace_sessions_legacy_mv TO trace_sessions
AS SELECT project_id, session_id, id AS trace_id, event_date FROM traces
WHERE session_id != '' GROUP BY project_id, session_id, trace_id, event_date;
