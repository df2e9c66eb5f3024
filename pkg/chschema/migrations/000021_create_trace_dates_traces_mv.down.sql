DROP TABLE IF EXISTS trace_dates_traces_mv;
