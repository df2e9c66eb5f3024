DROP TABLE IF EXISTS rollup_marks;
