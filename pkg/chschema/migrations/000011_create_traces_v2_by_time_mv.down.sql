DROP TABLE IF EXISTS traces_v2_by_time_mv;
