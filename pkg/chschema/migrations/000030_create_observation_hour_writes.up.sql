-- observation_hour_writes: when rows were last written for each hour of
-- observation start times, per project (the greatest ingested_at), filled
-- by a view on every insert into observations_v2 (000031). A metrics read
-- takes a rolled up hour (observation_hours) only if nothing was written
-- for it after its newest computation began, and reads the hour's raw rows
-- otherwise, so rows that arrive for a closed hour count at once rather
-- than at the rollup job's next run. (Update rows without a start time, and
-- trace updates, carry no hour: the job's next run covers those.)
CREATE TABLE IF NOT EXISTS observation_hour_writes
(
    project_id String,
    hour UInt64,
    ingested_at UInt64,
    event_date Date DEFAULT toDate(toDateTime(intDiv(hour, 1000000000)))
)
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(event_date)
ORDER BY (project_id, hour);
