package ingestion

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"google.golang.org/protobuf/types/known/timestamppb"

	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	"github.com/agenttrace/agenttrace/services/ingest/internal/validation"
)

var (
	// ErrInvalidTraceID: the trace id to delete is malformed; the error
	// also wraps the *validation.Error naming the field.
	ErrInvalidTraceID = errors.New("invalid trace id")
	// ErrDeletionDisabled: this ingest has no way to audit a deletion (no
	// JWT secret to call auth with), so it refuses to delete anything.
	ErrDeletionDisabled = errors.New("trace deletion is not enabled on this server")
	// ErrAuditUnavailable: the deletion could not be recorded in the audit
	// log, so it was not carried out; the caller may retry.
	ErrAuditUnavailable = errors.New("audit log unavailable")
)

// ActionTraceDelete is the audit action of a trace deletion.
const ActionTraceDelete = "trace.delete"

// Auditor records administrative actions in the audit log. Record returns
// nil only once the record is stored.
type Auditor interface {
	Record(ctx context.Context, r AuditRecord) error
}

// Actor is who asked for an action, as the audit log names them.
type Actor struct {
	// Kind is "user", "api_key" or "service".
	Kind string
	ID   string
	// Label is the user's email, the key's public key or the service name.
	Label string
}

// AuditRecord is one action to record.
type AuditRecord struct {
	OrganizationID string
	ProjectID      string
	Actor          Actor
	Action         string
	TargetKind     string
	TargetID       string
	ClientIP       string
	UserAgent      string
}

// DeleteRequest is a request to delete one trace of a project.
type DeleteRequest struct {
	OrganizationID string
	ProjectID      string
	TraceID        string
	Actor          Actor
	ClientIP       string
	UserAgent      string
}

// DeleteTrace audits the deletion of req.TraceID, then publishes it to the
// events stream, where the worker carries it out (it deletes the trace's
// rows stored before the deletion was processed). It returns once the
// stream has acknowledged the deletion.
//
// The audit record is written first, on purpose: were the order reversed,
// an auth outage between publish and audit would delete data with no
// record of who asked. The opposite failure (recorded, then the stream is
// down) leaves a record of a request that was refused; the caller is told
// Unavailable and retries, and the retry is recorded again, which reads as
// what happened.
func (s *Service) DeleteTrace(ctx context.Context, req DeleteRequest) error {
	if verr := validation.TraceID("trace_id", req.TraceID, s.cfg.Limits); verr != nil {
		return fmt.Errorf("%w: %w", ErrInvalidTraceID, verr)
	}
	if s.cfg.Auditor == nil {
		s.cfg.Metrics.deletion(outcomeDisabled)
		return ErrDeletionDisabled
	}
	err := s.cfg.Auditor.Record(ctx, AuditRecord{
		OrganizationID: req.OrganizationID,
		ProjectID:      req.ProjectID,
		Actor:          req.Actor,
		Action:         ActionTraceDelete,
		TargetKind:     "trace",
		TargetID:       req.TraceID,
		ClientIP:       req.ClientIP,
		UserAgent:      req.UserAgent,
	})
	if err != nil {
		s.cfg.Metrics.deletion(outcomeUnavailable)
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("record audit event: %w", ctxErr)
		}
		s.cfg.Log.WarnContext(ctx, "cannot audit trace deletion; refusing it",
			"project_id", req.ProjectID, "trace_id", req.TraceID, "err", err)
		return fmt.Errorf("%w: %w", ErrAuditUnavailable, err)
	}

	now := s.cfg.Now()
	env := &ingestv1.EventEnvelope{
		ProjectId:  req.ProjectID,
		ReceivedAt: timestamppb.New(now),
		Events: []*ingestv1.IngestEvent{{
			// Unique per request: two deletions of one trace (say, before
			// and after it was ingested again) are two distinct messages,
			// not a duplicate for the stream to drop.
			Id:        "delete:" + req.TraceID + ":" + strconv.FormatInt(now.UnixNano(), 10),
			Timestamp: timestamppb.New(now),
			Type:      ingestv1.EventType_EVENT_TYPE_TRACE_DELETE,
			Trace:     &ingestv1.TraceBody{Id: req.TraceID},
		}},
	}
	if err := s.cfg.Publisher.Publish(ctx, env); err != nil {
		s.cfg.Metrics.deletion(outcomeUnavailable)
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("publish deletion: %w", ctxErr)
		}
		s.cfg.Log.WarnContext(ctx, "publish of trace deletion failed",
			"project_id", req.ProjectID, "trace_id", req.TraceID, "err", err)
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	s.cfg.Metrics.deletion(outcomeAccepted)
	s.cfg.Log.InfoContext(ctx, "trace deletion accepted", "project_id", req.ProjectID, "trace_id", req.TraceID,
		"actor_kind", req.Actor.Kind, "actor_id", req.Actor.ID)
	return nil
}
