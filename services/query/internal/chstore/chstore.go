// Package chstore reads traces, observations, scores and sessions from
// ClickHouse, merging the append-only versions of each object at read time.
//
// Every row is one event that sets some fields; pkg/chschema holds the
// columns, encodings and merge expressions (per field, the newest version
// that set it wins). Merges are always scoped to one trace or one page of
// ids; lists first select the page on a few narrow merged columns, then
// merge every column of the page only.
//
// All SQL is built from constant fragments; caller input reaches ClickHouse
// only as bound parameters (clickhouse-go `?` binding), which 18.16 accepts
// because the driver binds on the client.
package chstore

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/agenttrace/agenttrace/pkg/chschema"
	"github.com/agenttrace/agenttrace/pkg/clickhousedb"
	"github.com/agenttrace/agenttrace/pkg/retry"
	"github.com/agenttrace/agenttrace/services/query/internal/query"
)

// Store reads one ClickHouse database holding the chschema tables.
type Store struct {
	ch      *clickhousedb.Background
	metrics *Metrics // nil: reads are not timed
	// minWindowRows is the fewest index rows a list's first window reads
	// (see pageKeys); tests lower it to walk many windows on little data.
	minWindowRows int
	// yields size filtered lists' first windows (see yieldHint).
	yields *yieldHints
}

// Errors are the domain's: query.ErrUnavailable (wrapped) when ClickHouse
// cannot answer now, query.ErrNotConnected before the connection is open.

// New reads through conn.
func New(conn driver.Conn) *Store { return NewPending(clickhousedb.Connected(conn)) }

// NewPending reads through ch, which the service opens in the background:
// reads fail with query.ErrNotConnected until it is open.
func NewPending(ch *clickhousedb.Background) *Store {
	return &Store{ch: ch, minWindowRows: 64, yields: newYieldHints()}
}

func (s *Store) connection() (driver.Conn, error) {
	conn, err := s.ch.Conn()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", query.ErrNotConnected, err)
	}
	return conn, nil
}

// unavailable reports whether a read failed because ClickHouse is not
// there for it (the tables not migrated yet, the server not reachable)
// rather than because of the read itself. The caller's own deadline is the
// caller's business, not an outage.
func unavailable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	return clickhousedb.IsCode(err, clickhousedb.CodeUnknownTable) ||
		clickhousedb.IsCode(err, clickhousedb.CodeUnknownDatabase) ||
		retry.Unreachable(err)
}

// CheckSchema reports whether the database holds the schema this build
// reads (chschema.Check); it backs readiness.
func (s *Store) CheckSchema(ctx context.Context) error {
	conn, err := s.connection()
	if err != nil {
		return err
	}
	return chschema.Check(ctx, conn)
}

var _ query.Store = (*Store)(nil)

// readSettings apply to every read. The reads that serve a page pick a
// few rows of each of hundreds of traces, scattered over the tables' sort
// keys, so ClickHouse decompresses a whole compressed block (64 KiB or
// more) of each column for each of them: that, not the rows, is most of
// their time (a page of sessions' totals: 230 ms of which 80 ms with
// the blocks cached). The uncompressed cache keeps those blocks for the
// reads that follow. A read of more than maxCachedReadRows neither uses
// nor evicts it. ClickHouse's default for that, 1M rows, left out the
// reads of a page of sessions, whose traces' observations touch 1–4M rows
// of granules at 10M observations (their totals: 250 → 120 ms); a scan
// over a month of a large project (a metrics query on the raw tables, a
// search that finds nothing) reads more. The cache's size is the server's
// uncompressed_cache_size.
var readSettings = clickhouse.WithSettings(clickhouse.Settings{
	"use_uncompressed_cache":           1,
	"merge_tree_max_rows_to_use_cache": maxCachedReadRows,
})

// maxCachedReadRows is the most rows a read may touch and still use the
// uncompressed cache.
const maxCachedReadRows = 8 << 20

func (s *Store) query(ctx context.Context, q *sqlQuery) (driver.Rows, error) {
	conn, err := s.connection()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	rows, err := conn.Query(clickhouse.Context(ctx, readSettings), q.String(), q.args...)
	if err != nil {
		s.metrics.observe(q.name, start, err)
		if unavailable(ctx, err) {
			return nil, fmt.Errorf("query %s: %w: %w", q.name, query.ErrUnavailable, err)
		}
		return nil, fmt.Errorf("query %s: %w", q.name, err)
	}
	if s.metrics == nil {
		return rows, nil
	}
	return &timedRows{Rows: rows, m: s.metrics, name: q.name, start: start}, nil
}

// scanOne reads the one row of q (an aggregate without GROUP BY) into dest.
func (s *Store) scanOne(ctx context.Context, q *sqlQuery, dest ...any) error {
	rows, err := s.query(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read %s: %w", q.name, err)
		}
		return fmt.Errorf("read %s: no row", q.name)
	}
	if err := rows.Scan(dest...); err != nil {
		return fmt.Errorf("scan %s: %w", q.name, err)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read %s: %w", q.name, err)
	}
	return nil
}

// tables are referenced by the chschema names so a rename there fails here.
const (
	tracesTable       = chschema.Traces
	observationsTable = chschema.Observations
	scoresTable       = chschema.Scores
	traceDatesTable   = chschema.TraceDates
)

// The SQL here names columns through chschema only; these spell the
// fragments it repeats.
var (
	// inProjectRows scopes a read of a table to the caller's project and
	// begins its row conditions. They go in PREWHERE, which reads the other
	// columns only of the rows that pass: ClickHouse 18.16 does not move
	// them there itself, and without it every column of every granule the
	// sort key range touches is read (a list page's traces by id at 10M:
	// 130 → 42 ms).
	inProjectRows = "PREWHERE " + chschema.ColProjectID + " = ?"
	// byID groups the rows of one object by its id.
	byID = "GROUP BY " + chschema.ColID
	// mTimestamp is the merged timestamp of traces and scores, the order
	// of their lists.
	mTimestamp = chschema.Merged(chschema.ColTimestamp)
)

// eq is "col = ?".
func eq(col string) string { return col + " = ?" }
