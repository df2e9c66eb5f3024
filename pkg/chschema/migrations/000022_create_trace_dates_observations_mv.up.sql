-- See 000020: the days of every insert into observations_v2.
CREATE MATERIALIZED VIEW IF NOT EXISTS trace_dates_observations_mv TO trace_dates
AS SELECT project_id, trace_id, event_date FROM observations_v2
GROUP BY project_id, trace_id, event_date;
