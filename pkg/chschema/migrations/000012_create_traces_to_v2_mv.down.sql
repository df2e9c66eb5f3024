DROP TABLE IF EXISTS traces_to_v2_mv;
