-- See 000033: the sessions and users of rows a worker of an older release
-- writes into traces, which ClickHouse 18.16 does not pass on from
-- traces_to_v2_mv to the views of traces_v2 (see 000023).
CREATE MATERIALIZED VIEW IF NOT EXISTS trace_refs_legacy_mv TO trace_refs
AS SELECT project_id, ref.1 AS field, ref.2 AS value, id AS trace_id, event_date FROM traces
ARRAY JOIN [('session', session_id), ('user', user_id)] AS ref
WHERE ref.2 != '' GROUP BY project_id, field, value, trace_id, event_date;
