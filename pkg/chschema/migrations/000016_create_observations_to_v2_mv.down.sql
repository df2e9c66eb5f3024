DROP TABLE IF EXISTS observations_to_v2_mv;
