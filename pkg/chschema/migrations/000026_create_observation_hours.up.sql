-- observation_hours: the observations metrics rollup. One row per (project,
-- hour of the merged start time, dimensions) of merged observations: their
-- count and, per measure, how many had a value and the values' sum, least
-- and greatest; for latency and time to first token, every value too (the
-- exact percentiles need them). Dimensions are the observation's own and its
-- trace's name and release. The metrics API reads count, sum, avg, min, max
-- and the latency percentiles of closed hours from here and everything else
-- from the raw rows, with the same answers either way.
--
-- Rows are not written by a view: an observation is versioned (a create,
-- then updates that set only some fields), so only the merged object knows
-- its model, level, latency or cost. The worker's rollup job merges the
-- observations of an hour once the hour has closed and inserts the hour's
-- rows under a new generation; it recomputes an hour when late versions
-- of its observations or their traces, or deletions, touch it. Readers take, per hour, the generation recorded
-- last in rollup_hours (000027), so rows of an older or unfinished
-- computation are never read; retention removes old hours with the rows.
CREATE TABLE IF NOT EXISTS observation_hours
(
    project_id String,
    hour UInt64,
    generation UInt64,
    name String,
    type String,
    model String,
    environment String,
    version String,
    level String,
    trace_name String,
    release String,
    n UInt64,
    latency_n UInt64,
    latency_sum Float64,
    latency_min Float64,
    latency_max Float64,
    time_to_first_token_n UInt64,
    time_to_first_token_sum Float64,
    time_to_first_token_min Float64,
    time_to_first_token_max Float64,
    input_tokens_n UInt64,
    input_tokens_sum Float64,
    input_tokens_min Float64,
    input_tokens_max Float64,
    output_tokens_n UInt64,
    output_tokens_sum Float64,
    output_tokens_min Float64,
    output_tokens_max Float64,
    total_tokens_n UInt64,
    total_tokens_sum Float64,
    total_tokens_min Float64,
    total_tokens_max Float64,
    input_cost_n UInt64,
    input_cost_sum Float64,
    input_cost_min Float64,
    input_cost_max Float64,
    output_cost_n UInt64,
    output_cost_sum Float64,
    output_cost_min Float64,
    output_cost_max Float64,
    total_cost_n UInt64,
    total_cost_sum Float64,
    total_cost_min Float64,
    total_cost_max Float64,
    errors_n UInt64,
    errors_sum Float64,
    errors_min Float64,
    errors_max Float64,
    latency_values Array(Float64),
    time_to_first_token_values Array(Float64),
    event_date Date DEFAULT toDate(toDateTime(intDiv(hour, 1000000000)))
)
ENGINE = MergeTree()
PARTITION BY toYYYYMM(event_date)
ORDER BY (project_id, hour, generation, name, type, model, environment, version, level, trace_name, release);
