-- Every row of traces is now in traces_v2, copied (000013) or bridged
-- (000012): free its space. traces and its views stay, so a worker of an
-- older release keeps writing; its rows go on to traces_v2 and the index.
-- Readers of an older release see only those rows: roll back with `migrate
-- down`, which gives traces its rows back first.
TRUNCATE TABLE traces;
