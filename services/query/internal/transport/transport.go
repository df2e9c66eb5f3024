// Package transport serves agenttrace.query.v1.QueryService over gRPC: it
// reads the authenticated project from the context, calls the domain and
// maps its errors to gRPC statuses, once, here.
package transport

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/agenttrace/agenttrace/pkg/apierror"
	"github.com/agenttrace/agenttrace/pkg/authn"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
	"github.com/agenttrace/agenttrace/services/query/internal/query"
)

// Server implements queryv1.QueryServiceServer.
type Server struct {
	queryv1.UnimplementedQueryServiceServer
	svc *query.Service
	log *slog.Logger
}

// New serves svc; log receives the detail of internal errors.
func New(svc *query.Service, log *slog.Logger) *Server {
	return &Server{svc: svc, log: log}
}

// call runs fn for the caller's project and maps its error.
func call[Req, Resp any](ctx context.Context, s *Server, method string, req Req,
	fn func(context.Context, string, Req) (Resp, error),
) (Resp, error) {
	var zero Resp
	p, err := authn.ProjectCaller(ctx)
	if err != nil {
		return zero, s.status(ctx, method, err)
	}
	resp, err := fn(ctx, p.ProjectID, req)
	if err != nil {
		return zero, s.status(ctx, method, err)
	}
	return resp, nil
}

// status maps a domain error to a gRPC status.
func (s *Server) status(ctx context.Context, method string, err error) error {
	if st, ok := apierror.Status(ctx, s.log.With("method", method), err); ok {
		return st
	}
	switch {
	case errors.Is(err, query.ErrNotFound):
		return status.Error(codes.NotFound, "not found")
	case errors.Is(err, query.ErrUnavailable):
		return status.Error(codes.Unavailable, "trace storage is not reachable yet; retry")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		if ctxErr := ctx.Err(); ctxErr != nil {
			return status.FromContextError(ctxErr).Err()
		}
	}
	s.log.ErrorContext(ctx, "query failed", "method", method, "err", err)
	return status.Error(codes.Internal, "internal error")
}

// GetTrace implements queryv1.QueryServiceServer.
func (s *Server) GetTrace(ctx context.Context, req *queryv1.GetTraceRequest) (*queryv1.GetTraceResponse, error) {
	return call(ctx, s, "GetTrace", req, s.svc.GetTrace)
}

// GetObservation implements queryv1.QueryServiceServer.
func (s *Server) GetObservation(ctx context.Context, req *queryv1.GetObservationRequest) (*queryv1.GetObservationResponse, error) {
	return call(ctx, s, "GetObservation", req, s.svc.GetObservation)
}

// ListTraces implements queryv1.QueryServiceServer.
func (s *Server) ListTraces(ctx context.Context, req *queryv1.ListTracesRequest) (*queryv1.ListTracesResponse, error) {
	return call(ctx, s, "ListTraces", req, s.svc.ListTraces)
}

// ListObservations implements queryv1.QueryServiceServer.
func (s *Server) ListObservations(ctx context.Context, req *queryv1.ListObservationsRequest) (*queryv1.ListObservationsResponse, error) {
	return call(ctx, s, "ListObservations", req, s.svc.ListObservations)
}

// ListSessions implements queryv1.QueryServiceServer.
func (s *Server) ListSessions(ctx context.Context, req *queryv1.ListSessionsRequest) (*queryv1.ListSessionsResponse, error) {
	return call(ctx, s, "ListSessions", req, s.svc.ListSessions)
}

// GetSession implements queryv1.QueryServiceServer.
func (s *Server) GetSession(ctx context.Context, req *queryv1.GetSessionRequest) (*queryv1.GetSessionResponse, error) {
	return call(ctx, s, "GetSession", req, s.svc.GetSession)
}

// ListScores implements queryv1.QueryServiceServer.
func (s *Server) ListScores(ctx context.Context, req *queryv1.ListScoresRequest) (*queryv1.ListScoresResponse, error) {
	return call(ctx, s, "ListScores", req, s.svc.ListScores)
}

func (s *Server) QueryMetrics(ctx context.Context, req *queryv1.QueryMetricsRequest) (*queryv1.QueryMetricsResponse, error) {
	return call(ctx, s, "QueryMetrics", req, s.svc.QueryMetrics)
}
