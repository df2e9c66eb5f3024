DROP TABLE IF EXISTS observation_hours;
