package chstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// Deleting from a MergeTree table is a mutation, `ALTER TABLE t DELETE
// WHERE ...`, the one form both ClickHouse 18.16 and current releases
// accept (lightweight DELETE FROM and the mutations_sync setting are newer).
// A mutation is registered durably before the ALTER returns and then
// applied in the background; it affects only the rows that existed when it
// was registered, so rows inserted later survive it. Mutations of one table
// are applied in order.

// maxPredicateBytes keeps one mutation's WHERE well below ClickHouse's
// max_query_size (256 KiB by default); longer lists go in several mutations.
const maxPredicateBytes = 128 << 10

// predicate is a WHERE clause with its bound arguments.
type predicate struct {
	sql  strings.Builder
	args []any
}

func (p *predicate) or(clause string, args ...any) {
	if p.sql.Len() > 0 {
		p.sql.WriteString(" OR ")
	}
	p.sql.WriteString("(" + clause + ")")
	p.args = append(p.args, args...)
}

// mutate deletes the rows matching where from table.
func (w *Writer) mutate(ctx context.Context, table, where string, args []any) error {
	if err := w.conn.Exec(ctx, "ALTER TABLE "+table+" DELETE WHERE "+where, args...); err != nil {
		return fmt.Errorf("delete from %s: %w", table, classify(err))
	}
	return nil
}

// awaitMutations waits, at most the configured mutation wait, until no
// mutation of the given tables is still running, so that a deletion the
// caller acknowledges is usually already invisible to reads. Not finishing
// in time is no failure: the mutation is registered and will complete; the
// wait only bounds how long the caller is held.
func (w *Writer) awaitMutations(ctx context.Context, tables []string) {
	if w.mutationWait <= 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, w.mutationWait)
	defer cancel()
	set := make([]any, len(tables))
	for i, t := range tables {
		set[i] = t
	}
	delay := 10 * time.Millisecond
	for {
		var running uint64
		err := w.conn.QueryRow(ctx, "SELECT count() FROM system.mutations WHERE database = currentDatabase() AND table IN ? AND is_done = 0",
			clickhouse.GroupSet{Value: set}).Scan(&running)
		switch {
		case err == nil && running == 0:
			return
		case err != nil && ctx.Err() == nil:
			w.log.WarnContext(ctx, "cannot check mutation progress; not waiting for it", "err", err)
			return
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			w.log.WarnContext(ctx, "mutations still running; carrying on (they complete in the background)",
				"tables", tables, "waited", w.mutationWait)
			return
		case <-t.C:
		}
		delay = min(2*delay, 500*time.Millisecond)
	}
}
