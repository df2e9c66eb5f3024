CREATE MATERIALIZED VIEW IF NOT EXISTS observation_hour_writes_mv TO observation_hour_writes
AS SELECT project_id, intDiv(start_time, 3600000000000) * 3600000000000 AS hour, max(ingested_at) AS ingested_at,
    toDate(toDateTime(intDiv(hour, 1000000000))) AS event_date
FROM observations_v2 WHERE start_time != 0 GROUP BY project_id, hour;
