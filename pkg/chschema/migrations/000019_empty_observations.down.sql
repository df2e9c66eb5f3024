-- Give observations back every row, for readers of an older release. Through
-- observations_to_v2_mv the rows are written to observations_v2 a second
-- time, which ReplacingMergeTree collapses.
INSERT INTO observations (
    project_id, trace_id, id, parent_observation_id, type, name, start_time,
    end_time, completion_start_time, level, status_message, model,
    model_parameters_keys, model_parameters_values, usage_input, usage_output,
    usage_total, usage_details_keys, usage_details_values, cost_input,
    cost_output, cost_total, input, output, metadata_keys, metadata_values,
    version, environment, event_id, event_ts, ingested_at, event_date
)
SELECT
    project_id, trace_id, id, parent_observation_id, type, name, start_time,
    end_time, completion_start_time, level, status_message, model,
    model_parameters_keys, model_parameters_values, usage_input, usage_output,
    usage_total, usage_details_keys, usage_details_values, cost_input,
    cost_output, cost_total, input, output, metadata_keys, metadata_values,
    version, environment, event_id, event_ts, ingested_at, event_date
FROM observations_v2;
