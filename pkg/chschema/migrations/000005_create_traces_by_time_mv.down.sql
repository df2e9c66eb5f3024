DROP TABLE IF EXISTS traces_by_time_mv;
