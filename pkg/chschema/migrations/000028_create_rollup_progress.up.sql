-- rollup_progress: how far each rollup job has come, per view, as named
-- nanosecond marks that only grow: "closed" (every hour before it is rolled
-- up, in every project; readers take hours below it from the rollup) and
-- "ingested" (rows the worker wrote up to this time, and marks made up to
-- it, have been looked at for late changes). Read with max().
CREATE TABLE IF NOT EXISTS rollup_progress
(
    view String,
    name String,
    value UInt64
)
ENGINE = ReplacingMergeTree(value)
ORDER BY (view, name);
