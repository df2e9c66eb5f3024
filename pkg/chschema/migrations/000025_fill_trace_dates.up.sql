-- See 000020: the days of the rows stored before its views (000021–000024).
-- A day both write is one row twice, which ReplacingMergeTree collapses.
INSERT INTO trace_dates (project_id, trace_id, event_date)
SELECT project_id, trace_id, event_date FROM (
    SELECT project_id, id AS trace_id, event_date FROM traces_v2
    GROUP BY project_id, trace_id, event_date
    UNION ALL
    SELECT project_id, trace_id, event_date FROM observations_v2
    GROUP BY project_id, trace_id, event_date
);
