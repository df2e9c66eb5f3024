// Package conformance is the storage contract's test suite, after Jaeger's
// storage integration tests: one table of cases, each written through a
// Writer and read back through a Reader, that every writer/reader pair over
// the chschema tables must pass against a real ClickHouse.
//
// pkg cannot import the services, and Go's internal packages cannot be
// imported across modules, so no single test can hold the worker's writer
// and query's reader at once. Each side runs the suite instead with its real
// half and this package's reference for the other half, built on the same
// contract: the worker's test pairs its writer with MergeReader (chschema's
// merge expressions and scanners, which query's reader uses too), query's
// test pairs its reader with RowWriter (chschema's row encoding and Insert,
// which the worker's writer uses too). A change to either side that breaks
// the contract fails that side's run.
package conformance

import (
	"context"
	"time"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
)

// Writer is the write side under test.
type Writer interface {
	// Write stores the events of one ingest envelope of project (as the
	// worker receives it from the stream); its rows are readable when Write
	// returns. Writing the same events again (a redelivery) must not change
	// what is read.
	Write(ctx context.Context, projectID string, events []*ingestv1.IngestEvent) error
	// DeleteTrace removes a trace with its observations and scores. The
	// suite waits (up to DeleteWait) for the rows to disappear, as ClickHouse
	// applies deletions as mutations in the background.
	DeleteTrace(ctx context.Context, projectID, traceID string) error
	// Purge removes the project's rows of events older than the day of
	// before (the retention job's contract: whole days, by event date).
	Purge(ctx context.Context, projectID string, before time.Time) error
}

// Reader is the read side under test. Every read is scoped to one project
// and returns merged objects.
type Reader interface {
	// Trace is the merged trace, found false when it has no rows.
	Trace(ctx context.Context, projectID, traceID string) (*commonv1.Trace, bool, error)
	// Observations are the trace's merged observations, by start time then id.
	Observations(ctx context.Context, projectID, traceID string) ([]*commonv1.Observation, error)
	// Scores are the scores of the trace and its observations, by
	// timestamp then id.
	Scores(ctx context.Context, projectID, traceID string) ([]*commonv1.Score, error)
}

// DeleteWait bounds how long the suite waits for a deletion's mutations.
const DeleteWait = 20 * time.Second
