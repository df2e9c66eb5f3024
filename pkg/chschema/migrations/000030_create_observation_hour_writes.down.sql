DROP TABLE IF EXISTS observation_hour_writes;
