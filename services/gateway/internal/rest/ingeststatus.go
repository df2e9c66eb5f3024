package rest

import (
	"context"
	"net/http"

	"google.golang.org/protobuf/proto"

	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
)

// ingestStatus sets the status of POST /api/v1/ingestion from its per-event
// results: 200 when every event was accepted, 207 when some were, 400 when
// none were. The body is the IngestBatchResponse in every case, so a client
// learns which events to fix.
func ingestStatus(_ context.Context, w http.ResponseWriter, m proto.Message) error {
	resp, ok := m.(*ingestv1.IngestBatchResponse)
	if !ok {
		return nil
	}
	if code := batchStatus(resp); code != http.StatusOK {
		w.WriteHeader(code)
	}
	return nil
}

func batchStatus(resp *ingestv1.IngestBatchResponse) int {
	var accepted, rejected int
	for _, r := range resp.GetResults() {
		if r.GetAccepted() {
			accepted++
		} else {
			rejected++
		}
	}
	switch {
	case rejected == 0:
		return http.StatusOK
	case accepted == 0:
		return http.StatusBadRequest
	default:
		return http.StatusMultiStatus
	}
}
