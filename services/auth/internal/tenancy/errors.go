package tenancy

import (
	"errors"
	"fmt"
)

// Sentinel errors, mapped to gRPC codes once at the transport edge.
var (
	// ErrNotFound: no such object in the caller's organization (it may exist
	// in another one; that is deliberately not told apart).
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: the name is taken.
	ErrAlreadyExists = errors.New("already exists")
	// ErrInvalidArgument: the request is malformed; see FieldError.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrUnavailable: a dependency failed in a way the caller should retry.
	ErrUnavailable = errors.New("temporarily unavailable")
)

// FieldError says which request field is wrong and why.
type FieldError struct {
	Field       string
	Description string
}

func (e *FieldError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Description) }

// Is makes every FieldError an ErrInvalidArgument.
func (e *FieldError) Is(target error) bool { return target == ErrInvalidArgument }

func invalid(field, description string) error {
	return &FieldError{Field: field, Description: description}
}
