-- The hours of the observations stored before 000031, so that a metrics
-- read never takes such an hour for an empty one before the rollup job has
-- rolled it up.
INSERT INTO observation_hour_writes (project_id, hour, ingested_at)
SELECT project_id, intDiv(start_time, 3600000000000) * 3600000000000 AS hour, max(ingested_at)
FROM observations_v2 WHERE start_time != 0 GROUP BY project_id, hour;
