DROP TABLE IF EXISTS trace_refs_legacy_mv;
