// Package audit keeps the record of administrative actions: who (the
// authenticated caller), what (an action on a target), when and from where
// (client address and user agent).
//
// Other packages call Recorder.Record with the transaction of the action they
// audit, so that the action and its record commit together or not at all:
//
//	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
//		if err := insertMember(ctx, tx, m); err != nil {
//			return err
//		}
//		_, err := recorder.Record(ctx, tx, audit.Entry{
//			OrganizationID: m.OrganizationID,
//			Action:         audit.ActionMemberAdd,
//			TargetKind:     "user",
//			TargetID:       m.UserID.String(),
//			Details:        map[string]string{"role": m.Role},
//		})
//		return err
//	})
//
// Details never hold secrets: their keys must be in AllowedDetails, so adding
// a new key is a deliberate, reviewed change here rather than at a call site.
package audit

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Actions of the platform. Any well-formed dotted name ("noun.verb") may be
// recorded; these are the ones in use, for callers to share spelling.
const (
	ActionOrganizationCreate  = "organization.create"
	ActionProjectCreate       = "project.create"
	ActionAPIKeyCreate        = "api_key.create"
	ActionAPIKeyRevoke        = "api_key.revoke"
	ActionMemberAdd           = "member.add"
	ActionMemberRemove        = "member.remove"
	ActionMemberRoleChange    = "member.role_change"
	ActionInvitationCreate    = "invitation.create"
	ActionInvitationRevoke    = "invitation.revoke"
	ActionInvitationAccept    = "invitation.accept"
	ActionSettingsUpdate      = "settings.update"
	ActionLLMConnectionCreate = "llm_connection.create"
	ActionLLMConnectionUpdate = "llm_connection.update"
	ActionLLMConnectionDelete = "llm_connection.delete"
	ActionTraceDelete         = "trace.delete"
	ActionRetentionRun        = "retention.run"
	ActionModelPriceCreate    = "model_price.create"
	ActionModelPriceUpdate    = "model_price.update"
	ActionModelPriceDelete    = "model_price.delete"
)

// ActorKind says what kind of caller acted.
type ActorKind string

// Kinds of actors. System is an operator command (bootstrap) or anything
// else that ran without an authenticated caller.
const (
	ActorUser    ActorKind = "user"
	ActorAPIKey  ActorKind = "api_key"
	ActorService ActorKind = "service"
	ActorSystem  ActorKind = "system"
)

// Actor is who acted. Label is human-readable: the user's email, the key's
// public key or the service's name.
type Actor struct {
	Kind  ActorKind
	ID    string
	Label string
}

// Event is one recorded action, as stored.
type Event struct {
	ID             uuid.UUID
	OrganizationID uuid.UUID // uuid.Nil when the action belongs to no organization
	ProjectID      uuid.UUID // uuid.Nil when it concerns no single project
	Actor          Actor
	Action         string
	TargetKind     string
	TargetID       string
	Details        map[string]string
	ClientIP       string
	UserAgent      string
	CreatedAt      time.Time
}

// Entry describes an action to record. What is left zero is filled in by
// Record from the context.
type Entry struct {
	// OrganizationID defaults to the caller's organization.
	OrganizationID uuid.UUID
	ProjectID      uuid.UUID
	// Action is a dotted name such as ActionAPIKeyCreate.
	Action     string
	TargetKind string
	TargetID   string
	// Details are small facts about the action; keys must be in
	// AllowedDetails and values are never secrets.
	Details map[string]string
	// Actor defaults to the authenticated caller (ActorSystem when none).
	// Set it only when acting on behalf of someone else, such as a service
	// recording what its own caller did.
	Actor Actor
	// ClientIP and UserAgent default to the call's origin.
	ClientIP  string
	UserAgent string
}

// Store persists events.
type Store interface {
	// InsertAuditEvent writes e within tx, or on its own when tx is nil.
	InsertAuditEvent(ctx context.Context, tx pgx.Tx, e Event) error
	// ListAuditEvents returns the events matching f, newest first (by
	// CreatedAt, then ID), at most f.Limit of them.
	ListAuditEvents(ctx context.Context, f Filter) ([]Event, error)
	// ProjectOrganization returns the organization owning a project, or
	// ErrNotFound.
	ProjectOrganization(ctx context.Context, projectID uuid.UUID) (uuid.UUID, error)
}

// Config holds a Recorder's dependencies.
type Config struct {
	Store Store
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Recorder writes audit events. It is safe for concurrent use.
type Recorder struct {
	store Store
	now   func() time.Time
}

// NewRecorder builds a Recorder.
func NewRecorder(cfg Config) *Recorder {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Recorder{store: cfg.Store, now: now}
}

// Record writes the event for e. Pass the transaction of the audited action
// as tx, so that a failed action leaves no record and a recorded action
// cannot lose its record; pass nil only for actions outside PostgreSQL
// (record them once they succeeded). An invalid entry (malformed action,
// unknown detail key, oversized value) is ErrInvalidArgument: returning it
// from the transaction aborts the action, which is the point.
func (r *Recorder) Record(ctx context.Context, tx pgx.Tx, e Entry) (Event, error) {
	ev, err := r.event(ctx, e)
	if err != nil {
		return Event{}, err
	}
	if err := r.store.InsertAuditEvent(ctx, tx, ev); err != nil {
		return Event{}, fmt.Errorf("record %s: %w", ev.Action, err)
	}
	return ev, nil
}

// event completes and checks an entry.
func (r *Recorder) event(ctx context.Context, e Entry) (Event, error) {
	caller := ActorFromContext(ctx)
	actor := e.Actor
	if actor == (Actor{}) {
		actor = caller.Actor
	}
	if e.OrganizationID == uuid.Nil {
		e.OrganizationID = caller.OrganizationID
	}
	origin := OriginFromContext(ctx)
	if e.ClientIP == "" {
		e.ClientIP = origin.ClientIP
	}
	if e.UserAgent == "" {
		e.UserAgent = origin.UserAgent
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Event{}, fmt.Errorf("audit event id: %w", err)
	}
	ev := Event{
		ID:             id,
		OrganizationID: e.OrganizationID,
		ProjectID:      e.ProjectID,
		Actor:          actor,
		Action:         e.Action,
		TargetKind:     e.TargetKind,
		TargetID:       e.TargetID,
		Details:        e.Details,
		ClientIP:       e.ClientIP,
		UserAgent:      truncate(e.UserAgent, maxUserAgentLen),
		CreatedAt:      r.now().UTC().Truncate(time.Microsecond),
	}
	if ev.Details == nil {
		ev.Details = map[string]string{}
	}
	if err := Validate(ev); err != nil {
		return Event{}, err
	}
	return ev, nil
}
