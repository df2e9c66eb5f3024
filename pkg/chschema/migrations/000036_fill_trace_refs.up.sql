-- See 000033: the sessions and users of the traces stored before its views.
INSERT INTO trace_refs (project_id, field, value, trace_id, event_date)
SELECT project_id, ref.1 AS field, ref.2 AS value, id AS trace_id, event_date FROM traces_v2
ARRAY JOIN [('session', session_id), ('user', user_id)] AS ref
WHERE ref.2 != '' GROUP BY project_id, field, value, trace_id, event_date;
