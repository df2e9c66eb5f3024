DROP TABLE IF EXISTS trace_dates_legacy_observations_mv;
