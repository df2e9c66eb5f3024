-- Every row of observations is now in observations_v2, copied (000017) or
-- bridged (000016): free its space. observations and its views stay, so a
-- worker of an older release keeps writing; its rows go on to observations_v2
-- and the index. Readers of an older release see only those rows: roll back
-- with `migrate down`, which gives observations its rows back first.
TRUNCATE TABLE observations;
