package chstore_test

import (
	"context"
	"testing"

	"github.com/agenttrace/agenttrace/pkg/chschema/conformance"
	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	"github.com/agenttrace/agenttrace/services/query/internal/chstore"
	"github.com/agenttrace/agenttrace/services/query/internal/chtest"
	"github.com/agenttrace/agenttrace/services/query/internal/query"
)

// queryReader is query's read path: the Store that GetTrace reads through.
type queryReader struct{ s *chstore.Store }

func (r queryReader) Trace(ctx context.Context, projectID, traceID string) (*commonv1.Trace, bool, error) {
	return r.s.Trace(ctx, projectID, traceID, query.Days{})
}

func (r queryReader) Observations(ctx context.Context, projectID, traceID string) ([]*commonv1.Observation, error) {
	return r.s.TraceObservationPage(ctx, projectID, traceID, query.Days{}, query.Page{Limit: query.MaxObservationsPageSize}, query.AllFields)
}

func (r queryReader) Scores(ctx context.Context, projectID, traceID string) ([]*commonv1.Score, error) {
	return r.s.TraceScores(ctx, projectID, traceID)
}

// TestConformance: what chschema's row writer stores, query's reader reads
// back (the worker's writer runs the same suite over chschema's merge).
func TestConformance(t *testing.T) {
	conformance.Run(t, func(t *testing.T) (conformance.Writer, conformance.Reader) {
		conn := chtest.NewDB(t)
		return conformance.RowWriter{Conn: conn}, queryReader{chstore.New(conn)}
	})
}
