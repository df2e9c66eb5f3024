-- See 000007 and 000005.
CREATE MATERIALIZED VIEW IF NOT EXISTS observations_by_time_mv TO observations_by_time
AS SELECT project_id, start_time, id, trace_id, event_date FROM observations WHERE start_time != 0;
