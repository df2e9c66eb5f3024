// Package ingestapi is ingest's gRPC transport: it reads the caller's
// project from the authenticated context, runs the ingestion domain and maps
// its outcome and errors to the wire, once.
package ingestapi

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/agenttrace/agenttrace/pkg/apierror"
	"github.com/agenttrace/agenttrace/pkg/authn"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	"github.com/agenttrace/agenttrace/services/ingest/internal/ingestion"
	"github.com/agenttrace/agenttrace/services/ingest/internal/validation"
)

// retryDelay is suggested to clients (RetryInfo; the gateway's Retry-After)
// when the stream is unavailable.
const retryDelay = time.Second

// Server implements agenttrace.ingest.v1.IngestService.
type Server struct {
	ingestv1.UnimplementedIngestServiceServer
	svc *ingestion.Service
	log *slog.Logger
}

// NewServer serves svc.
func NewServer(svc *ingestion.Service, log *slog.Logger) *Server {
	return &Server{svc: svc, log: log}
}

// IngestBatch answers OK with a result per event even when some or all
// events were rejected; only a malformed batch (InvalidArgument) or an
// unavailable stream (Unavailable, nothing accepted) fail the call.
func (s *Server) IngestBatch(ctx context.Context, req *ingestv1.IngestBatchRequest) (*ingestv1.IngestBatchResponse, error) {
	p, err := authn.ProjectCaller(ctx)
	if err != nil {
		st, _ := apierror.Status(ctx, s.log, err)
		return nil, st
	}
	out, err := s.svc.Ingest(ctx, p.ProjectID, req.GetBatch())
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	resp := &ingestv1.IngestBatchResponse{
		Results:  make([]*ingestv1.EventResult, len(out.Results)),
		Accepted: int32(out.Accepted),
		Rejected: int32(out.Rejected),
	}
	for i, r := range out.Results {
		er := &ingestv1.EventResult{Id: r.ID, Index: int32(r.Index), Accepted: r.Err == nil}
		if r.Err != nil {
			er.Field, er.Error = r.Err.Field, r.Err.Message
		}
		resp.Results[i] = er
	}
	return resp, nil
}

// DeleteTrace audits the deletion and publishes it durably; the worker
// carries it out shortly after. It answers Unavailable when either the audit
// log or the stream cannot be reached (nothing is deleted then).
func (s *Server) DeleteTrace(ctx context.Context, req *ingestv1.DeleteTraceRequest) (*ingestv1.DeleteTraceResponse, error) {
	p, err := authn.ProjectCaller(ctx)
	if err != nil {
		st, _ := apierror.Status(ctx, s.log, err)
		return nil, st
	}
	ip, ua := origin(ctx)
	err = s.svc.DeleteTrace(ctx, ingestion.DeleteRequest{
		OrganizationID: p.OrganizationID,
		ProjectID:      p.ProjectID,
		TraceID:        req.GetTraceId(),
		Actor:          actorOf(p),
		ClientIP:       ip,
		UserAgent:      ua,
	})
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	return &ingestv1.DeleteTraceResponse{}, nil
}

// toStatus maps domain errors to gRPC statuses; anything unexpected is
// logged and answered as Internal without detail.
func (s *Server) toStatus(ctx context.Context, err error) error {
	var verr *validation.Error
	switch {
	case errors.Is(err, ingestion.ErrEmptyBatch), errors.Is(err, ingestion.ErrBatchTooLarge):
		return apierror.InvalidArgument("batch", err.Error())
	case errors.As(err, &verr) && errors.Is(err, ingestion.ErrInvalidTraceID):
		return apierror.InvalidArgument(verr.Field, verr.Message)
	case errors.Is(err, ingestion.ErrDeletionDisabled):
		return status.Error(codes.Unimplemented, "trace deletion is not enabled on this server")
	case errors.Is(err, ingestion.ErrAuditUnavailable):
		return apierror.Unavailable("audit log unavailable, retry", retryDelay)
	case errors.Is(err, ingestion.ErrUnavailable):
		return apierror.Unavailable("event stream unavailable, retry", retryDelay)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return status.FromContextError(err).Err()
	}
	s.log.ErrorContext(ctx, "ingest failed", "err", err)
	return status.Error(codes.Internal, "internal error")
}
