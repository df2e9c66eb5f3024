DROP TABLE IF EXISTS trace_dates_observations_mv;
