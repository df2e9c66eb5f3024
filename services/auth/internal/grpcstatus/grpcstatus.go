// Package grpcstatus maps the domain errors of the auth service's APIs to
// gRPC statuses, in one place; each API's transport handles its own
// sentinels first and hands the rest here. Only errors whose text was
// written for callers pass through; anything else is logged and answered
// with a bare Internal, so no detail (a query, a stored value) leaks.
package grpcstatus

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/agenttrace/agenttrace/services/auth/internal/audit"
	"github.com/agenttrace/agenttrace/services/auth/internal/settings"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

// Of maps err to the status returned to the caller.
// Errors of a handler's own reading of the principal.
var (
	// ErrNoPrincipal: a handler that needs a caller ran without the
	// interceptor having authenticated one; the server is wired wrongly.
	ErrNoPrincipal = errors.New("no authenticated principal in context")
	// ErrBadPrincipal: the principal's ids are not UUIDs; the validator
	// that produced it is broken.
	ErrBadPrincipal = errors.New("principal carries malformed ids")
)

func Of(ctx context.Context, log *slog.Logger, err error) error {
	var tfe *tenancy.FieldError
	var afe *audit.FieldError
	switch {
	case errors.As(err, &tfe):
		return invalidArgument(tfe.Field, tfe.Description)
	case errors.As(err, &afe):
		return invalidArgument(afe.Field, afe.Description)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return status.FromContextError(err).Err()
	case errors.Is(err, settings.ErrPermissionDenied), errors.Is(err, audit.ErrPermissionDenied):
		return status.Error(codes.PermissionDenied, err.Error())
	case errors.Is(err, tenancy.ErrNotFound), errors.Is(err, audit.ErrNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, tenancy.ErrAlreadyExists):
		return status.Error(codes.AlreadyExists, err.Error())
	case errors.Is(err, tenancy.ErrUnavailable), errors.Is(err, audit.ErrUnavailable):
		log.WarnContext(ctx, "dependency unavailable", "err", err)
		return status.Error(codes.Unavailable, "temporarily unavailable; retry")
	case errors.Is(err, ErrNoPrincipal):
		log.ErrorContext(ctx, "handler reached without authentication", "err", err)
		return status.Error(codes.Unauthenticated, "unauthenticated")
	default:
		log.ErrorContext(ctx, "request failed", "err", err)
		return status.Error(codes.Internal, "internal error")
	}
}

// invalidArgument is the status of a bad request field, with the field
// named in a BadRequest detail.
func invalidArgument(field, description string) error {
	st := status.New(codes.InvalidArgument, field+": "+description)
	detailed, err := st.WithDetails(&errdetails.BadRequest{
		FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: field, Description: description}},
	})
	if err != nil {
		return st.Err()
	}
	return detailed.Err()
}

// Field is a FieldError for a request field that could not be parsed.
func Field(field, description string) error {
	return &tenancy.FieldError{Field: field, Description: description}
}
