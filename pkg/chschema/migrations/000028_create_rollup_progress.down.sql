DROP TABLE IF EXISTS rollup_progress;
