// Package otlpapi is ingest's OTLP/gRPC transport: the
// opentelemetry.proto.collector.trace.v1.TraceService. It reads the
// caller's project from the authenticated context, runs the otlpingest
// domain and answers the way OTLP clients expect: OK with partial_success
// for rejected spans, Unavailable (which OTLP exporters retry) when the
// spans could not be stored.
//
// Importing this package registers gRPC's gzip codec, so exporters that
// compress their requests (OTEL_EXPORTER_OTLP_COMPRESSION=gzip) are served.
//
// A server built with ServerOption keeps each export's bytes as received
// (decompressed): they are checked without decoding them and published as
// they are when every span is valid (see codec.go).
package otlpapi

import (
	"context"
	"errors"
	"log/slog"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc/codes"
	_ "google.golang.org/grpc/encoding/gzip" // registers the gzip compressor
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/agenttrace/agenttrace/pkg/apierror"
	"github.com/agenttrace/agenttrace/pkg/authn"
	"github.com/agenttrace/agenttrace/services/ingest/internal/otlpingest"
)

// TransportHeader is the metadata key by which the gateway marks exports it
// received over OTLP/HTTP (value "http"); it only labels metrics. The
// gateway's otlphttp package sends it under the same name.
const TransportHeader = "x-agenttrace-otlp-transport"

// retryDelay is suggested to clients (RetryInfo; the gateway's Retry-After)
// when the stream is unavailable.
const retryDelay = time.Second

// Server implements opentelemetry.proto.collector.trace.v1.TraceService.
// Register it with Register.
type Server struct {
	coltracepb.UnimplementedTraceServiceServer
	svc *otlpingest.Service
	log *slog.Logger
}

// NewServer serves svc.
func NewServer(svc *otlpingest.Service, log *slog.Logger) *Server {
	return &Server{svc: svc, log: log}
}

// Export stores the valid spans of req and reports the invalid ones in
// partial_success; it answers OK even when every span was invalid, as the
// OTLP specification asks, since resending them would not help.
func (s *Server) Export(ctx context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	return s.export(ctx, &exportRequest{ExportTraceServiceRequest: req})
}

func (s *Server) export(ctx context.Context, req *exportRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	p, err := authn.ProjectCaller(ctx)
	if err != nil {
		st, _ := apierror.Status(ctx, s.log, err)
		return nil, st
	}
	out, err := s.svc.Export(ctx, p.ProjectID, transport(ctx), req.ExportTraceServiceRequest, req.raw)
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	resp := &coltracepb.ExportTraceServiceResponse{}
	if out.Rejected > 0 {
		resp.PartialSuccess = &coltracepb.ExportTracePartialSuccess{
			RejectedSpans: int64(out.Rejected),
			ErrorMessage:  out.Message,
		}
	}
	return resp, nil
}

// transport tells exports relayed by the gateway from direct gRPC ones.
func transport(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get(TransportHeader); len(v) == 1 && v[0] == otlpingest.TransportHTTP {
		return otlpingest.TransportHTTP
	}
	return otlpingest.TransportGRPC
}

// toStatus maps domain errors to gRPC statuses; anything unexpected is
// logged and answered as Internal without detail.
func (s *Server) toStatus(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, otlpingest.ErrMalformed):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, otlpingest.ErrUnavailable):
		return apierror.Unavailable("event stream unavailable, retry", retryDelay)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return status.FromContextError(err).Err()
	}
	s.log.ErrorContext(ctx, "otlp export failed", "err", err)
	return status.Error(codes.Internal, "internal error")
}
