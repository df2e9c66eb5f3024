-- Every row still inserted into traces (by a worker of an older release,
-- during a rolling upgrade or after the services alone are rolled back) is
-- written into traces_v2 as well. Created before the copy (000013), so no
-- insert falls between the two; a row both write is one version twice, which
-- ReplacingMergeTree collapses (event_id is in the sort key).
CREATE MATERIALIZED VIEW IF NOT EXISTS traces_to_v2_mv TO traces_v2
AS SELECT
    project_id, id, timestamp, name, user_id, session_id, tags, metadata_keys,
    metadata_values, input, output, release, version, environment, event_id,
    event_ts, ingested_at, event_date
FROM traces;
