package rest

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
)

const ingestBatchPath = "/api/v1/ingestion"

// registerIngestBatch serves POST /api/v1/ingestion in place of the
// generated handler (the mux tries the handler registered last first). It
// differs in one way: the body is decoded event by event (decodeBatch), and
// an event that does not decode is refused on its own, in a result merged
// in request order with ingest's, rather than failing the whole batch.
//
// Undecodable events still reach ingest, as empty placeholders with their
// id, so that ingest authenticates the call, applies its batch limits to
// the batch as sent and numbers the results; their results are then
// replaced by the decoding error.
func registerIngestBatch(mux *runtime.ServeMux, client ingestv1.IngestServiceClient, dec jsonMarshaler) error {
	return mux.HandlePath(http.MethodPost, ingestBatchPath, func(w http.ResponseWriter, req *http.Request, _ map[string]string) {
		ctx, cancel := context.WithCancel(req.Context())
		defer cancel()
		_, outbound := runtime.MarshalerForRequest(mux, req)
		ctx, err := runtime.AnnotateContext(ctx, mux, req, ingestv1.IngestService_IngestBatch_FullMethodName,
			runtime.WithHTTPPathPattern(ingestBatchPath))
		if err != nil {
			runtime.HTTPError(ctx, mux, outbound, w, req, err)
			return
		}
		resp, md, err := ingestBatch(ctx, client, dec, req)
		ctx = runtime.NewServerMetadataContext(ctx, md)
		if err != nil {
			runtime.HTTPError(ctx, mux, outbound, w, req, err)
			return
		}
		runtime.ForwardResponseMessage(ctx, mux, outbound, w, req, resp, mux.GetForwardResponseOptions()...)
	})
}

func ingestBatch(ctx context.Context, client ingestv1.IngestServiceClient, dec jsonMarshaler, req *http.Request) (*ingestv1.IngestBatchResponse, runtime.ServerMetadata, error) {
	var md runtime.ServerMetadata
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, md, status.Error(codes.InvalidArgument, malformedBodyError{err}.Error())
		}
		body = b
	}
	batch, failures, err := decodeBatch(body, dec.UnmarshalOptions)
	if err != nil {
		return nil, md, status.Error(codes.InvalidArgument, err.Error())
	}
	resp, err := client.IngestBatch(ctx, batch, grpc.Header(&md.HeaderMD), grpc.Trailer(&md.TrailerMD))
	if err != nil {
		return nil, md, err
	}
	if len(failures) > 0 {
		mergeFailures(resp, failures)
	}
	return resp, md, nil
}

// mergeFailures puts the decoding errors in place of ingest's results for
// the placeholder events, and recounts.
func mergeFailures(resp *ingestv1.IngestBatchResponse, failures []eventFailure) {
	results := resp.GetResults()
	for _, f := range failures {
		if f.index >= len(results) {
			// ingest answers one result per event; if it ever did not,
			// the decoding error still has to be told.
			results = append(results, make([]*ingestv1.EventResult, f.index+1-len(results))...)
		}
		r := results[f.index]
		if r == nil {
			r = &ingestv1.EventResult{Index: int32(f.index)}
			results[f.index] = r
		}
		if r.Id == "" {
			r.Id = fmt.Sprintf("#%d", f.index)
		}
		r.Accepted, r.Field, r.Error = false, f.field, f.msg
	}
	resp.Results = results
	resp.Accepted, resp.Rejected = 0, 0
	for _, r := range results {
		if r.GetAccepted() {
			resp.Accepted++
		} else {
			resp.Rejected++
		}
	}
}
