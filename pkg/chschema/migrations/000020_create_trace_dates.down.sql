DROP TABLE IF EXISTS trace_dates;
