// Package chschema is the one place that knows the ClickHouse storage of
// traces, observations and scores: the versioned migrations the worker
// applies (`worker migrate up`), the row types and column lists of the
// tables (in DDL order), the value encodings (nanosecond times, enum names,
// JSON text, parallel key/value arrays, nullable usage and cost) and the
// read-side merge expressions that resolve the append-only versions of an
// object. The worker's writer and query's reader both build on it, and both
// run package conformance's suite against the real ClickHouse; see
// docs/ARCHITECTURE.md for the versioning model.
package chschema

import "embed"

// Migrations holds golang-migrate files (NNNNNN_name.up.sql / .down.sql), one
// statement per file so they run on any ClickHouse driver.
//
//go:embed migrations/*.sql
var Migrations embed.FS

// Table names. Traces and observations moved to tables with finer granules
// in migrations 000010 and 000014; their earlier tables, LegacyTraces and
// LegacyObservations, are kept empty for workers of older releases, whose
// inserts views carry on to the new ones (see those migrations).
const (
	Traces             = "traces_v2"
	Observations       = "observations_v2"
	Scores             = "scores"
	LegacyTraces       = "traces"
	LegacyObservations = "observations"
)

// Kinds of stored object. A kind names a table's rows in metric labels and
// audit records, which keep their names when the rows move to a new table.
const (
	KindTraces       = "traces"
	KindObservations = "observations"
	KindScores       = "scores"
)

// The time indexes of list pages (migrations 000004 and 000007): one row
// per stored version that sets the list's sort time, sorted by it, written
// by materialized views on every insert into Traces and Observations.
// Readers take them as candidates only and merge those from the source.
const (
	TracesByTime       = "traces_by_time"
	ObservationsByTime = "observations_by_time"
)

// TraceDates (migration 000020) holds the days on which each trace has rows
// in Traces or Observations, written by materialized views on every insert,
// so a read of one trace prunes the partitions it has no rows in.
const TraceDates = "trace_dates"

// TraceRefs (migration 000033) holds the traces that name each session and
// each user (in any version), sorted by (field, value), written by
// materialized views on every insert, so a read of a session's or a user's
// traces finds them by the sort key. RefSession and RefUser are its fields.
const (
	TraceRefs  = "trace_refs"
	RefSession = "session"
	RefUser    = "user"
)
