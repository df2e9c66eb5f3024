DROP TABLE IF EXISTS observations_v2_by_time_mv;
