// Package query is the domain of the query service: it validates requests,
// pages lists with opaque cursors, assembles a trace's observation tree and
// derives totals (usage, cost, latency, counts) from merged observations.
// Storage is behind Store; every call is scoped to one project.
package query

import (
	"errors"

	"github.com/agenttrace/agenttrace/pkg/apierror"
)

var (
	// ErrNotFound: the trace or session does not exist in the project.
	ErrNotFound = errors.New("not found")
	// ErrInvalidArgument: the request is malformed; errors.As gives the *FieldError.
	ErrInvalidArgument = apierror.ErrInvalidArgument
)

// FieldError says which request field is wrong and why (the services'
// one type for it, mapped by apierror.Status).
type FieldError = apierror.FieldError

var invalid = apierror.Invalid

// Service answers queries of one project at a time.
type Service struct {
	store Store
}

// New serves queries from store.
func New(store Store) *Service { return &Service{store: store} }
