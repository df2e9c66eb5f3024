-- rollup_hours: the hours each metrics rollup holds, by view (one row per
-- computation of an hour). A reader takes the greatest generation of each
-- hour and reads that generation's rows only; the rows are written before
-- their hour is recorded here, so a computation that fails half way is
-- never read. An hour recorded with no rows had no objects.
CREATE TABLE IF NOT EXISTS rollup_hours
(
    project_id String,
    view String,
    hour UInt64,
    generation UInt64,
    event_date Date DEFAULT toDate(toDateTime(intDiv(hour, 1000000000)))
)
ENGINE = ReplacingMergeTree(generation)
PARTITION BY toYYYYMM(event_date)
ORDER BY (project_id, view, hour);
