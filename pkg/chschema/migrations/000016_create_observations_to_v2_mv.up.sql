-- Every row still inserted into observations (by a worker of an older
-- release, during a rolling upgrade or after the services alone are rolled
-- back) is written into observations_v2 as well. Created before the copy
-- (000017), so no insert falls between the two; a row both write is one
-- version twice, which ReplacingMergeTree collapses (event_id is in the sort
-- key).
CREATE MATERIALIZED VIEW IF NOT EXISTS observations_to_v2_mv TO observations_v2
AS SELECT
    project_id, trace_id, id, parent_observation_id, type, name, start_time,
    end_time, completion_start_time, level, status_message, model,
    model_parameters_keys, model_parameters_values, usage_input, usage_output,
    usage_total, usage_details_keys, usage_details_values, cost_input,
    cost_output, cost_total, input, output, metadata_keys, metadata_values,
    version, environment, event_id, event_ts, ingested_at, event_date
FROM observations;
