// Package apierror is the error vocabulary the services' APIs share for
// what is the caller's fault or a wiring fault, and its one mapping to gRPC
// statuses:
//
//   - FieldError: a request field is wrong. It is InvalidArgument, with the
//     field named in a google.rpc.BadRequest detail (the gateway turns that
//     into the REST error's field_violations).
//   - ErrNoPrincipal: a handler that needs a caller ran without one. The
//     authentication interceptor runs before every handler, so this is a
//     wiring bug: Unauthenticated, and logged as an error.
//
// Each service maps its own domain errors (not found, unavailable, ...)
// and hands these to Status.
package apierror

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

var (
	// ErrInvalidArgument: the request is malformed; errors.As gives the
	// *FieldError.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrNoPrincipal: no authenticated caller in the context.
	ErrNoPrincipal = errors.New("no authenticated principal in context")
)

// FieldError names the request field at fault and why.
type FieldError struct {
	Field       string
	Description string
}

func (e *FieldError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Description) }

// Is makes errors.Is(err, ErrInvalidArgument) hold for every FieldError.
func (e *FieldError) Is(target error) bool { return target == ErrInvalidArgument }

// Invalid is the FieldError for field.
func Invalid(field, description string) error {
	return &FieldError{Field: field, Description: description}
}

// Status maps the errors of this package to their gRPC status; ok is false
// for any other error, which the service maps itself.
func Status(ctx context.Context, log *slog.Logger, err error) (st error, ok bool) {
	var fe *FieldError
	switch {
	case errors.As(err, &fe):
		return InvalidArgument(fe.Field, fe.Description), true
	case errors.Is(err, ErrNoPrincipal):
		log.ErrorContext(ctx, "handler reached without an authenticated caller", "err", err)
		return status.Error(codes.Unauthenticated, "not authenticated"), true
	}
	return nil, false
}

// InvalidArgument is the status of a wrong request field: the message
// "field: description" and the field in a BadRequest detail.
func InvalidArgument(field, description string) error {
	st := status.New(codes.InvalidArgument, field+": "+description)
	if d, err := st.WithDetails(&errdetails.BadRequest{
		FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: field, Description: description}},
	}); err == nil {
		st = d
	}
	return st.Err()
}

// Unavailable is the status of a call that failed because a dependency
// cannot answer now: Unavailable with a RetryInfo detail saying when to try
// again (the gateway turns it into 503 with Retry-After).
func Unavailable(msg string, retryAfter time.Duration) error {
	st := status.New(codes.Unavailable, msg)
	if d, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(retryAfter)}); err == nil {
		st = d
	}
	return st.Err()
}
