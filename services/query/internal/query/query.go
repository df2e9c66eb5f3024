// Package query is the domain of the query service: it validates requests,
// pages lists with opaque cursors, assembles a trace's observation tree and
// derives totals (usage, cost, latency, counts) from merged observations.
// Storage is behind Store; every call is scoped to one project.
package query

import (
	"errors"
	"fmt"
)

var (
	// ErrNotFound: the trace or session does not exist in the project.
	ErrNotFound = errors.New("not found")
	// ErrInvalidArgument: the request is malformed; errors.As gives the *FieldError.
	ErrInvalidArgument = errors.New("invalid argument")
)

// FieldError names the request field at fault.
type FieldError struct {
	Field       string
	Description string
}

func (e *FieldError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Description) }

// Is makes errors.Is(err, ErrInvalidArgument) hold.
func (e *FieldError) Is(target error) bool { return target == ErrInvalidArgument }

func invalid(field, description string) error {
	return &FieldError{Field: field, Description: description}
}

// Service answers queries of one project at a time.
type Service struct {
	store Store
}

// New serves queries from store.
func New(store Store) *Service { return &Service{store: store} }
