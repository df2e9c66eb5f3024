DROP TABLE IF EXISTS observations_v2;
