DROP TABLE IF EXISTS trace_sessions_legacy_mv;
