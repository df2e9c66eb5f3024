// Package chstore writes event rows to ClickHouse: one explicit-column batch
// insert per table per flush, over the native protocol (the one both
// ClickHouse 18.16 and current releases speak).
package chstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/agenttrace/agenttrace/services/worker/internal/eventrows"
)

// Metrics are the writer's Prometheus instruments.
type Metrics struct {
	rowsWritten *prometheus.CounterVec
	errors      *prometheus.CounterVec
}

// NewMetrics creates the instruments and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		rowsWritten: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agenttrace_worker_rows_written_total",
			Help: "Rows inserted into ClickHouse, by table.",
		}, []string{"table"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agenttrace_clickhouse_insert_errors_total",
			Help: "Failed ClickHouse batch inserts, by table.",
		}, []string{"table"}),
	}
	for _, table := range []string{traces.name, observations.name, scores.name} {
		m.rowsWritten.WithLabelValues(table)
		m.errors.WithLabelValues(table)
	}
	reg.MustRegister(m.rowsWritten, m.errors)
	return m
}

// Writer implements eventrows.Writer over a ClickHouse connection.
type Writer struct {
	conn    driver.Conn
	now     func() time.Time
	metrics *Metrics
}

// NewWriter returns a writer on conn.
func NewWriter(conn driver.Conn, m *Metrics) *Writer {
	return &Writer{conn: conn, now: time.Now, metrics: m}
}

// Write inserts the rows of b, one batch per non-empty table, all stamped
// with the same ingested_at.
func (w *Writer) Write(ctx context.Context, b eventrows.Batch) error {
	ingestedAt := uint64(w.now().UnixNano())
	if err := insert(ctx, w, traces, b.Traces, ingestedAt); err != nil {
		return err
	}
	if err := insert(ctx, w, observations, b.Observations, ingestedAt); err != nil {
		return err
	}
	return insert(ctx, w, scores, b.Scores, ingestedAt)
}

func insert[R any](ctx context.Context, w *Writer, t table[R], rows []R, ingestedAt uint64) error {
	if len(rows) == 0 {
		return nil
	}
	if err := t.send(ctx, w.conn, rows, ingestedAt); err != nil {
		w.metrics.errors.WithLabelValues(t.name).Inc()
		return fmt.Errorf("insert into %s: %w", t.name, err)
	}
	w.metrics.rowsWritten.WithLabelValues(t.name).Add(float64(len(rows)))
	return nil
}

// table describes how rows of type R map to the columns of one table.
type table[R any] struct {
	name    string
	columns []string
	// values lists the column values of r in the order of columns.
	values func(r *R, ingestedAt uint64) []any
}

func (t table[R]) query() string {
	return "INSERT INTO " + t.name + " (" + strings.Join(t.columns, ", ") + ")"
}

func (t table[R]) send(ctx context.Context, conn driver.Conn, rows []R, ingestedAt uint64) (err error) {
	batch, err := conn.PrepareBatch(ctx, t.query())
	if err != nil {
		return classify(err)
	}
	defer func() {
		if err != nil {
			_ = batch.Abort()
		}
	}()
	for i := range rows {
		if err := batch.Append(t.values(&rows[i], ingestedAt)...); err != nil {
			// The driver could not convert a value: a property of the row,
			// not of the connection.
			return fmt.Errorf("%w: row %d: %w", eventrows.ErrRejected, i, err)
		}
	}
	if err := batch.Send(); err != nil {
		return classify(err)
	}
	return nil
}

// classify marks server-side exceptions (unknown table, bad value) as
// rejections; everything else (dial, timeout, broken connection) is left as
// a transient failure.
func classify(err error) error {
	var exc *clickhouse.Exception
	if errors.As(err, &exc) {
		return fmt.Errorf("%w: %w", eventrows.ErrRejected, err)
	}
	return err
}
