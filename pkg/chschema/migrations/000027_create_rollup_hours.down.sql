DROP TABLE IF EXISTS rollup_hours;
