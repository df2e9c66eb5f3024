DROP TABLE IF EXISTS trace_dates_legacy_traces_mv;
