// Package query is the domain of the query service: it validates requests,
// pages lists with opaque cursors, assembles a trace's observation tree and
// derives totals (usage, cost, latency, counts) from merged observations.
// Storage is behind Store; every call is scoped to one project.
package query

import (
	"context"
	"errors"
	"fmt"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	"github.com/agenttrace/agenttrace/services/query/internal/chstore"
)

// Store reads merged objects of one project. chstore.Store implements it.
type Store interface {
	Trace(ctx context.Context, projectID, traceID string) (*commonv1.Trace, bool, error)
	TraceObservationPage(ctx context.Context, projectID, traceID string, page chstore.Page) ([]*commonv1.Observation, error)
	TraceScores(ctx context.Context, projectID, traceID string) ([]*commonv1.Score, error)
	TraceStats(ctx context.Context, projectID string, traceIDs []string) (map[string]*chstore.TraceStats, error)
	ListTraces(ctx context.Context, projectID string, f chstore.TraceFilter, page chstore.Page) ([]*commonv1.Trace, error)
	ListObservations(ctx context.Context, projectID string, f chstore.ObservationFilter, page chstore.Page) ([]*commonv1.Observation, error)
	ListScores(ctx context.Context, projectID string, f chstore.ScoreFilter, page chstore.Page) ([]*commonv1.Score, error)
	ListSessions(ctx context.Context, projectID string, f chstore.SessionFilter, page chstore.Page) ([]*commonv1.Session, error)
	SessionTraceIDs(ctx context.Context, projectID string, sessionIDs []string) (map[string]string, error)
	SessionTraces(ctx context.Context, projectID, sessionID string) ([]*commonv1.Trace, error)
	SessionScores(ctx context.Context, projectID, sessionID string, traceIDs []string) ([]*commonv1.Score, error)
}

var (
	// ErrNotFound: the trace or session does not exist in the project.
	ErrNotFound = errors.New("not found")
	// ErrUnavailable: the store cannot answer now (ClickHouse not
	// connected or reachable, its schema not migrated yet); the caller
	// should retry.
	ErrUnavailable = chstore.ErrUnavailable
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
