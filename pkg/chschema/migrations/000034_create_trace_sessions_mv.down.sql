DROP TABLE IF EXISTS trace_sessions_mv;
