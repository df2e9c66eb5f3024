// Package ingestion is ingest's domain: it validates a batch event by event,
// completes the accepted events (default timestamp, score source and data
// type), hands them to the stream in one envelope and reports a result per
// event. Either every accepted event of a call is durably published or the
// call fails and reports nothing as accepted.
package ingestion

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	"github.com/agenttrace/agenttrace/services/ingest/internal/validation"
)

var (
	// ErrEmptyBatch: the call carried no events.
	ErrEmptyBatch = errors.New("batch must hold at least one event")
	// ErrBatchTooLarge: the call carried more events than allowed.
	ErrBatchTooLarge = errors.New("batch holds too many events")
	// ErrUnavailable: the stream did not acknowledge the events; nothing was
	// accepted and the caller may retry the same batch safely.
	ErrUnavailable = errors.New("event stream unavailable")
)

// Publisher durably stores an envelope of accepted events. It returns nil
// only once the stream has acknowledged all of them; a retried envelope with
// the same events must not be stored twice.
type Publisher interface {
	Publish(ctx context.Context, env *ingestv1.EventEnvelope) error
}

// Config is what a Service needs.
type Config struct {
	Publisher Publisher
	Limits    validation.Limits
	// MaxBatch is the largest number of events one call may carry.
	MaxBatch int
	Metrics  *Metrics
	// Auditor records trace deletions; without one DeleteTrace fails with
	// ErrDeletionDisabled.
	Auditor Auditor
	Log     *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Service ingests batches of events.
type Service struct {
	cfg Config
}

// NewService builds a Service.
func NewService(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Service{cfg: cfg}
}

// Result is the outcome of one event.
type Result struct {
	Index int
	// ID is the event id, or "#<index>" when the event has no usable id.
	ID string
	// Err is nil when the event was accepted.
	Err *validation.Error
}

// Outcome is the outcome of one call.
type Outcome struct {
	Results  []Result
	Accepted int
	Rejected int
}

// Ingest validates events, publishes the valid ones for projectID and
// reports a result per event in request order. Accepted events are
// completed in place (see complete). It fails with ErrEmptyBatch or
// ErrBatchTooLarge before looking at any event, and with ErrUnavailable (or
// the context's error) when publishing did not succeed.
func (s *Service) Ingest(ctx context.Context, projectID string, events []*ingestv1.IngestEvent) (Outcome, error) {
	switch {
	case len(events) == 0:
		return Outcome{}, ErrEmptyBatch
	case len(events) > s.cfg.MaxBatch:
		return Outcome{}, fmt.Errorf("%w: %d events, at most %d allowed", ErrBatchTooLarge, len(events), s.cfg.MaxBatch)
	}
	s.cfg.Metrics.batch(len(events))
	receivedAt := timestamppb.New(s.cfg.Now())

	errs := validation.Batch(events, s.cfg.Limits)
	out := Outcome{Results: make([]Result, len(events))}
	accepted := make([]*ingestv1.IngestEvent, 0, len(events))
	for i, ev := range events {
		out.Results[i] = Result{Index: i, ID: resultID(i, ev, s.cfg.Limits), Err: errs[i]}
		if errs[i] != nil {
			out.Rejected++
			continue
		}
		complete(ev, receivedAt)
		accepted = append(accepted, ev)
	}
	out.Accepted = len(accepted)

	if len(accepted) > 0 {
		env := &ingestv1.EventEnvelope{ProjectId: projectID, ReceivedAt: receivedAt, Events: accepted}
		start := time.Now()
		err := s.cfg.Publisher.Publish(ctx, env)
		s.cfg.Metrics.publishDuration(time.Since(start))
		if err != nil {
			s.cfg.Metrics.count(events, errs, outcomeUnavailable)
			if ctxErr := ctx.Err(); ctxErr != nil {
				return Outcome{}, fmt.Errorf("publish events: %w", ctxErr)
			}
			s.cfg.Log.WarnContext(ctx, "publish failed", "project_id", projectID, "events", len(accepted), "err", err)
			return Outcome{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
	}
	s.cfg.Metrics.count(events, errs, outcomeAccepted)
	return out, nil
}

// resultID echoes the event id when it is one the caller can match on; an
// empty or malformed id (possibly huge or unprintable) is replaced by the
// event's index.
func resultID(i int, ev *ingestv1.IngestEvent, lim validation.Limits) string {
	if !validation.WellFormedID(ev.GetId(), lim) {
		return fmt.Sprintf("#%d", i)
	}
	return ev.GetId()
}
