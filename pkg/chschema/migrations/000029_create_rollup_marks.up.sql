-- rollup_marks: hours a rollup must compute again for a reason the rows do
-- not show (a trace deletion removes rows, which leaves nothing newer to
-- find). The worker marks the hours of the rows it is about to delete; the
-- rollup job recomputes them once the deletions have been applied.
CREATE TABLE IF NOT EXISTS rollup_marks
(
    project_id String,
    view String,
    hour UInt64,
    marked_at UInt64
)
ENGINE = MergeTree()
ORDER BY (marked_at, project_id, view, hour);
