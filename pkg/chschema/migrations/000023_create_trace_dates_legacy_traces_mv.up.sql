-- See 000020: the days of rows a worker of an older release writes into
-- traces. ClickHouse 18.16 does not pass the rows traces_to_v2_mv writes on
-- to the views of traces_v2 (current releases do, and the day is then
-- written twice, which changes no answer).
CREATE MATERIALIZED VIEW IF NOT EXISTS trace_dates_legacy_traces_mv TO trace_dates
AS SELECT project_id, id AS trace_id, event_date FROM traces
GROUP BY project_id, trace_id, event_date;
