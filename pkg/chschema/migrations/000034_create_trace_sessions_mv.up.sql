-- See 000033: the sessions of every insert into traces_v2.
CREATE MATERIALIZED VIEW IF NOT EXISTS trace_sessions_mv TO trace_sessions
AS SELECT project_id, session_id, id AS trace_id, event_date FROM traces_v2
WHERE session_id != '' GROUP BY project_id, session_id, trace_id, event_date;
