-- See 000020: the days of every insert into traces_v2.
CREATE MATERIALIZED VIEW IF NOT EXISTS trace_dates_traces_mv TO trace_dates
AS SELECT project_id, id AS trace_id, event_date FROM traces_v2
GROUP BY project_id, trace_id, event_date;
