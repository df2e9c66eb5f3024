DROP TABLE IF EXISTS observations_by_time;
