-- Copy the rows stored before observations_to_v2_mv into observations_v2,
-- about a million rows a second on two cores. observations_v2_by_time_mv
-- indexes them again, which repeats index rows and changes no answer.
INSERT INTO observations_v2 (
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
FROM observations;
