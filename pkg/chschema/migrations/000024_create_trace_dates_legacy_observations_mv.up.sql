-- See 000023, for observations.
CREATE MATERIALIZED VIEW IF NOT EXISTS trace_dates_legacy_observations_mv TO trace_dates
AS SELECT project_id, trace_id, event_date FROM observations
GROUP BY project_id, trace_id, event_date;
