-- See 000033: the sessions of the traces stored before its views.
INSERT INTO trace_sessions (project_id, session_id, trace_id, event_date)
SELECT project_id, session_id, id AS trace_id, event_date FROM traces_v2
WHERE session_id != '' GROUP BY project_id, session_id, trace_id, event_date;
