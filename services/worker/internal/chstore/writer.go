// Package chstore writes event rows to ClickHouse: one explicit-column batch
// insert per table per flush, over the native protocol (the one both
// ClickHouse 18.16 and current releases speak). It also deletes: whole
// traces on request and rows past a project's retention, with mutations.
package chstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/agenttrace/agenttrace/services/worker/internal/eventrows"
)

// Metrics are the writer's Prometheus instruments.
type Metrics struct {
	rowsWritten   *prometheus.CounterVec
	errors        *prometheus.CounterVec
	deletedTraces *prometheus.CounterVec
}

// Reasons for deleting traces, the "reason" label of
// agenttrace_worker_deleted_traces_total.
const (
	reasonRequest   = "request"   // DeleteTrace
	reasonRetention = "retention" // the retention job
)

// RetentionDeletions is the counter of traces deleted by retention.
func (m *Metrics) RetentionDeletions() prometheus.Counter {
	return m.deletedTraces.WithLabelValues(reasonRetention)
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
		deletedTraces: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agenttrace_worker_deleted_traces_total",
			Help: "Traces deleted, by reason (request, retention). Approximate: a retention deletion counts every trace it removes rows of, a request deletion every trace it names.",
		}, []string{"reason"}),
	}
	m.deletedTraces.WithLabelValues(reasonRequest)
	m.deletedTraces.WithLabelValues(reasonRetention)
	for _, table := range []string{traces.name, observations.name, scores.name} {
		m.rowsWritten.WithLabelValues(table)
		m.errors.WithLabelValues(table)
	}
	reg.MustRegister(m.rowsWritten, m.errors, m.deletedTraces)
	return m
}

// Writer implements eventrows.Writer and the retention store over a
// ClickHouse connection.
type Writer struct {
	conn         driver.Conn
	now          func() time.Time
	metrics      *Metrics
	log          *slog.Logger
	mutationWait time.Duration
}

// Option configures a Writer.
type Option func(*Writer)

// WithMutationWait bounds how long a deletion waits for its mutations to
// complete (0: not at all); see awaitMutations.
func WithMutationWait(d time.Duration) Option { return func(w *Writer) { w.mutationWait = d } }

// WithLogger logs to log (deletion progress only).
func WithLogger(log *slog.Logger) Option { return func(w *Writer) { w.log = log } }

// NewWriter returns a writer on conn.
func NewWriter(conn driver.Conn, m *Metrics, opts ...Option) *Writer {
	w := &Writer{conn: conn, now: time.Now, metrics: m, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(w)
	}
	return w
}

// Write inserts the rows of b, one batch per non-empty table, all stamped
// with the same ingested_at, then deletes b's deleted traces, so that the
// rows buffered before a deletion are deleted with the rest.
func (w *Writer) Write(ctx context.Context, b eventrows.Batch) error {
	ingestedAt := uint64(w.now().UnixNano())
	if err := insert(ctx, w, traces, b.Traces, ingestedAt); err != nil {
		return err
	}
	if err := insert(ctx, w, observations, b.Observations, ingestedAt); err != nil {
		return err
	}
	if err := insert(ctx, w, scores, b.Scores, ingestedAt); err != nil {
		return err
	}
	return w.deleteTraces(ctx, b.Deletions)
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
