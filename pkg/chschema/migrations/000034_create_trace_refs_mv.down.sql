DROP TABLE IF EXISTS trace_refs_mv;
