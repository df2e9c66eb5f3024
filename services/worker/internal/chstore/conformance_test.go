package chstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/agenttrace/agenttrace/pkg/chschema/conformance"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	"github.com/agenttrace/agenttrace/services/worker/internal/chstore"
	"github.com/agenttrace/agenttrace/services/worker/internal/eventrows"
	"github.com/agenttrace/agenttrace/services/worker/internal/retention"
	"github.com/agenttrace/agenttrace/services/worker/internal/testinfra"
)

// workerWriter is the worker's write path from an envelope on: decoding
// (eventrows.FromEnvelope) and the ClickHouse writer, deletions and
// retention included.
type workerWriter struct{ w *chstore.Writer }

func (ww workerWriter) Write(ctx context.Context, projectID string, events []*ingestv1.IngestEvent) error {
	b, err := eventrows.FromEnvelope(&ingestv1.EventEnvelope{ProjectId: projectID, ReceivedAt: timestamppb.Now(), Events: events})
	if err != nil {
		return err
	}
	return ww.w.Write(ctx, b)
}

// DeleteTrace goes the way ingest's DeleteTrace does: a TRACE_DELETE event
// alone in its envelope.
func (ww workerWriter) DeleteTrace(ctx context.Context, projectID, traceID string) error {
	return ww.Write(ctx, projectID, []*ingestv1.IngestEvent{{Id: "delete-" + traceID, Timestamp: timestamppb.Now(),
		Type: ingestv1.EventType_EVENT_TYPE_TRACE_DELETE, Trace: &ingestv1.TraceBody{Id: traceID}}})
}

func (ww workerWriter) Purge(ctx context.Context, projectID string, before time.Time) error {
	return ww.w.Purge(ctx, []retention.Cutoff{{ProjectID: projectID, Before: before}})
}

// TestConformance: what the worker writes, chschema's merge reads back
// (query's reader runs the same suite over chschema's row writer).
func TestConformance(t *testing.T) {
	conformance.Run(t, func(t *testing.T) (conformance.Writer, conformance.Reader) {
		_, conn := testinfra.ClickHouse(t)
		w := chstore.NewWriter(conn, chstore.NewMetrics(prometheus.NewRegistry()), chstore.WithMutationWait(conformance.DeleteWait))
		return workerWriter{w}, conformance.MergeReader{Conn: conn}
	})
}
