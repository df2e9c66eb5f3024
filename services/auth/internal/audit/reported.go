package audit

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/agenttrace/agenttrace/pkg/authn"
)

// ReportableActions are the actions other services may record through
// RecordAuditEvent: what they do to telemetry on the platform's behalf.
var ReportableActions = map[string]bool{
	ActionTraceDelete:  true,
	ActionRetentionRun: true,
}

// RecordReported records an action another service took (a trace deletion
// by ingest, a retention run by the worker). Only service principals may;
// the action must be reportable and name a project, whose organization the
// event is filed under (an organization id, when given, must be that one).
// The actor is the one the service names (the user or key that asked for a
// deletion), else the service itself; details gain recorded_by.
func (r *Recorder) RecordReported(ctx context.Context, e Event) (Event, error) {
	p, ok := authn.FromContext(ctx)
	if !ok || p.Kind != authn.KindService {
		return Event{}, fmt.Errorf("%w: only services record audit events", ErrPermissionDenied)
	}
	if !ReportableActions[e.Action] {
		return Event{}, invalid("event.action", "services may record only trace.delete and retention.run")
	}
	if e.ProjectID == uuid.Nil {
		return Event{}, invalid("event.project_id", "required")
	}
	org, err := r.store.ProjectOrganization(ctx, e.ProjectID)
	if err != nil {
		return Event{}, err
	}
	if e.OrganizationID != uuid.Nil && e.OrganizationID != org {
		return Event{}, invalid("event.organization_id", "is not the project's organization")
	}
	switch e.Actor.Kind {
	case "":
		if e.Actor.ID != "" || e.Actor.Label != "" {
			return Event{}, invalid("event.actor_kind", "required with actor_id or actor_label")
		}
	case ActorUser, ActorAPIKey, ActorService:
	default:
		return Event{}, invalid("event.actor_kind", `must be "user", "api_key" or "service"`)
	}
	details := make(map[string]string, len(e.Details)+1)
	for k, v := range e.Details {
		details[k] = v
	}
	details["recorded_by"] = p.Service
	return r.Record(ctx, nil, Entry{
		OrganizationID: org,
		ProjectID:      e.ProjectID,
		Action:         e.Action,
		TargetKind:     e.TargetKind,
		TargetID:       e.TargetID,
		Details:        details,
		Actor:          e.Actor,
		ClientIP:       e.ClientIP,
		UserAgent:      e.UserAgent,
	})
}
