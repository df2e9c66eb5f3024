package tenancy

import (
	"errors"

	"github.com/agenttrace/agenttrace/pkg/apierror"
)

// Sentinel errors, mapped to gRPC codes once at the transport edge.
var (
	// ErrNotFound: no such object in the caller's organization (it may exist
	// in another one; that is deliberately not told apart).
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: the name is taken.
	ErrAlreadyExists = errors.New("already exists")
	// ErrInvalidArgument: the request is malformed; see FieldError.
	ErrInvalidArgument = apierror.ErrInvalidArgument
	// ErrUnavailable: a dependency failed in a way the caller should retry.
	ErrUnavailable = errors.New("temporarily unavailable")
)

// FieldError says which request field is wrong and why (the services'
// one type for it, mapped by apierror.Status).
type FieldError = apierror.FieldError

var invalid = apierror.Invalid
