package grpcapi

import (
	"context"
	"errors"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/agenttrace/agenttrace/pkg/authn"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

var (
	// errNoPrincipal: a handler ran without the interceptor having
	// authenticated the call, i.e. the server was wired wrongly.
	errNoPrincipal = errors.New("no authenticated principal in context")
	// errBadPrincipal: the principal's ids are not UUIDs; the validator
	// that produced it is broken.
	errBadPrincipal = errors.New("principal carries malformed ids")
)

// status maps an error to the gRPC status returned to the caller. Only
// errors whose text was written for callers are passed through; anything
// else is logged and answered with a bare Internal.
func (s *Server) status(ctx context.Context, err error) error {
	var fe *tenancy.FieldError
	switch {
	case errors.As(err, &fe):
		st := status.New(codes.InvalidArgument, fe.Error())
		detailed, derr := st.WithDetails(&errdetails.BadRequest{
			FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: fe.Field, Description: fe.Description}},
		})
		if derr != nil {
			return st.Err()
		}
		return detailed.Err()
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return status.FromContextError(err).Err()
	case errors.Is(err, authn.ErrNoCredentials), errors.Is(err, authn.ErrInvalidCredentials):
		return status.Error(codes.Unauthenticated, authn.ErrInvalidCredentials.Error())
	case errors.Is(err, authn.ErrNoAccess):
		return status.Error(codes.PermissionDenied, authn.ErrNoAccess.Error())
	case errors.Is(err, tenancy.ErrNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, tenancy.ErrAlreadyExists):
		return status.Error(codes.AlreadyExists, err.Error())
	case errors.Is(err, tenancy.ErrUnavailable):
		s.log.WarnContext(ctx, "dependency unavailable", "err", err)
		return status.Error(codes.Unavailable, "temporarily unavailable; retry")
	case errors.Is(err, errNoPrincipal):
		s.log.ErrorContext(ctx, "handler reached without authentication", "err", err)
		return status.Error(codes.Unauthenticated, "unauthenticated")
	default:
		s.log.ErrorContext(ctx, "request failed", "err", err)
		return status.Error(codes.Internal, "internal error")
	}
}
