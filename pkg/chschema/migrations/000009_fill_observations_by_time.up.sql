-- See 000007: index the observation versions stored before observations_by_time_mv.
INSERT INTO observations_by_time (project_id, start_time, id, trace_id, event_date)
SELECT project_id, start_time, id, trace_id, event_date FROM observations WHERE start_time != 0;
