// Package chschema is the ClickHouse schema of traces, observations and
// scores: the versioned migrations the worker applies (`worker migrate up`)
// and that query's tests load. It is the storage contract between the worker,
// which writes these tables, and query, which reads them; see
// docs/ARCHITECTURE.md for the versioning model.
package chschema

import "embed"

// Migrations holds golang-migrate files (NNNNNN_name.up.sql / .down.sql), one
// statement per file so they run on any ClickHouse driver.
//
//go:embed migrations/*.sql
var Migrations embed.FS

// Table names.
const (
	Traces       = "traces"
	Observations = "observations"
	Scores       = "scores"
)
