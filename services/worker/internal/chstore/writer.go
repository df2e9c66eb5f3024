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
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/agenttrace/agenttrace/pkg/chschema"
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
	for _, table := range []string{chschema.KindTraces, chschema.KindObservations, chschema.KindScores} {
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
	if err := insert(ctx, w, chschema.TraceTable, b.Traces, ingestedAt); err != nil {
		return err
	}
	if err := insert(ctx, w, chschema.ObservationTable, b.Observations, ingestedAt); err != nil {
		return err
	}
	if err := insert(ctx, w, chschema.ScoreTable, b.Scores, ingestedAt); err != nil {
		return err
	}
	return w.deleteTraces(ctx, b.Deletions)
}

func insert[R any](ctx context.Context, w *Writer, t chschema.Table[R], rows []R, ingestedAt uint64) error {
	if len(rows) == 0 {
		return nil
	}
	if err := t.Insert(ctx, w.conn, rows, ingestedAt); err != nil {
		w.metrics.errors.WithLabelValues(t.Kind).Inc()
		return fmt.Errorf("insert into %s: %w", t.Name, classify(err))
	}
	w.metrics.rowsWritten.WithLabelValues(t.Kind).Add(float64(len(rows)))
	return nil
}

// classify marks rows the store refused as rejections: a value the driver
// could not convert (a property of the row, not of the connection) and
// server-side exceptions (unknown table, bad value); everything else
// (dial, timeout, broken connection) is left as a transient failure.
func classify(err error) error {
	var exc *clickhouse.Exception
	if errors.Is(err, chschema.ErrValue) || errors.As(err, &exc) {
		return fmt.Errorf("%w: %w", eventrows.ErrRejected, err)
	}
	return err
}
