-- Give traces back every row, for readers of an older release. Through
-- traces_to_v2_mv the rows are written to traces_v2 a second time, which
-- ReplacingMergeTree collapses.
INSERT INTO traces (
    project_id, id, timestamp, name, user_id, session_id, tags, metadata_keys,
    metadata_values, input, output, release, version, environment, event_id,
    event_ts, ingested_at, event_date
)
SELECT
    project_id, id, timestamp, name, user_id, session_id, tags, metadata_keys,
    metadata_values, input, output, release, version, environment, event_id,
    event_ts, ingested_at, event_date
FROM traces_v2;
