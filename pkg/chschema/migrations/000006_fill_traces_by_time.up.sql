-- See 000004: index the trace versions stored before traces_by_time_mv.
INSERT INTO traces_by_time (project_id, timestamp, id, event_date)
SELECT project_id, timestamp, id, event_date FROM traces WHERE timestamp != 0;
