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

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/agenttrace/agenttrace/pkg/apierror"
	"github.com/agenttrace/agenttrace/services/auth/internal/audit"
	"github.com/agenttrace/agenttrace/services/auth/internal/settings"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

// Of maps err to the status returned to the caller.
// Errors of a handler's own reading of the principal.
var (
	// ErrNoPrincipal: a handler that needs a caller ran without the
	// interceptor having authenticated one; the server is wired wrongly.
	ErrNoPrincipal = apierror.ErrNoPrincipal
	// ErrBadPrincipal: the principal's ids are not UUIDs; the validator
	// that produced it is broken.
	ErrBadPrincipal = errors.New("principal carries malformed ids")
)

func Of(ctx context.Context, log *slog.Logger, err error) error {
	if st, ok := apierror.Status(ctx, log, err); ok {
		return st // field errors and a missing caller, as every service maps them
	}
	switch {
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
	default:
		log.ErrorContext(ctx, "request failed", "err", err)
		return status.Error(codes.Internal, "internal error")
	}
}

// Field is a FieldError for a request field that could not be parsed.
func Field(field, description string) error { return apierror.Invalid(field, description) }
