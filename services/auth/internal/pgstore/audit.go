package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/agenttrace/agenttrace/services/auth/internal/audit"
)

// AuditStore is the PostgreSQL audit.Store.
type AuditStore struct {
	db dbtx
}

var _ audit.Store = (*AuditStore)(nil)

// NewAuditStore returns an AuditStore over db (a pool).
func NewAuditStore(db dbtx) *AuditStore { return &AuditStore{db: db} }

// dbtx is what a pool and a transaction have in common.
type dbtx interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// wrapAs is wrap for domains other than tenancy: unreachable-database
// errors are marked with that domain's unavailable sentinel.
func wrapAs(err error, what string, unavailableErr error) error {
	switch {
	case err == nil:
		return nil
	case unreachable(err):
		return fmt.Errorf("%s: %w: %w", what, unavailableErr, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// nullUUID stores uuid.Nil as NULL.
func nullUUID(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}

// InsertAuditEvent implements audit.Store.
func (s *AuditStore) InsertAuditEvent(ctx context.Context, tx pgx.Tx, e audit.Event) error {
	db := s.db
	if tx != nil {
		db = tx
	}
	_, err := db.Exec(ctx,
		`INSERT INTO audit_events (id, organization_id, project_id, actor_kind, actor_id, actor_label,
			action, target_kind, target_id, details, client_ip, user_agent, created_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		e.ID, nullUUID(e.OrganizationID), nullUUID(e.ProjectID), string(e.Actor.Kind), e.Actor.ID, e.Actor.Label,
		e.Action, e.TargetKind, e.TargetID, e.Details, e.ClientIP, e.UserAgent, e.CreatedAt)
	return wrapAs(err, "insert audit event", audit.ErrUnavailable)
}

// ListAuditEvents implements audit.Store.
func (s *AuditStore) ListAuditEvents(ctx context.Context, f audit.Filter) ([]audit.Event, error) {
	where := []string{"organization_id = $1"}
	args := []any{f.OrganizationID}
	add := func(cond string, vals ...any) {
		for _, v := range vals {
			args = append(args, v)
			cond = strings.Replace(cond, "?", fmt.Sprintf("$%d", len(args)), 1)
		}
		where = append(where, cond)
	}
	if f.ProjectID != uuid.Nil {
		add("project_id = ?", f.ProjectID)
	}
	if f.Action != "" {
		add("action = ?", f.Action)
	}
	if !f.From.IsZero() {
		add("created_at >= ?", f.From)
	}
	if !f.To.IsZero() {
		add("created_at < ?", f.To)
	}
	if f.After != nil {
		add("(created_at, id) < (?, ?)", f.After.CreatedAt, f.After.ID)
	}
	args = append(args, f.Limit)
	rows, err := s.db.Query(ctx,
		`SELECT id, organization_id, project_id, actor_kind, actor_id, actor_label, action,
			target_kind, target_id, details, client_ip, user_agent, created_at
		 FROM audit_events
		 WHERE `+strings.Join(where, " AND ")+`
		 ORDER BY created_at DESC, id DESC
		 LIMIT $`+fmt.Sprint(len(args)), args...)
	if err != nil {
		return nil, wrapAs(err, "list audit events", audit.ErrUnavailable)
	}
	events, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (audit.Event, error) {
		var e audit.Event
		var org, project *uuid.UUID
		var kind string
		err := r.Scan(&e.ID, &org, &project, &kind, &e.Actor.ID, &e.Actor.Label, &e.Action,
			&e.TargetKind, &e.TargetID, &e.Details, &e.ClientIP, &e.UserAgent, &e.CreatedAt)
		if org != nil {
			e.OrganizationID = *org
		}
		if project != nil {
			e.ProjectID = *project
		}
		e.Actor.Kind = audit.ActorKind(kind)
		e.CreatedAt = e.CreatedAt.UTC()
		return e, err
	})
	return events, wrapAs(err, "list audit events", audit.ErrUnavailable)
}

// ProjectOrganization implements audit.Store.
func (s *AuditStore) ProjectOrganization(ctx context.Context, projectID uuid.UUID) (uuid.UUID, error) {
	var org uuid.UUID
	err := s.db.QueryRow(ctx, `SELECT organization_id FROM projects WHERE id = $1`, projectID).Scan(&org)
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, fmt.Errorf("project %s: %w", projectID, audit.ErrNotFound)
	}
	return org, wrapAs(err, "find project", audit.ErrUnavailable)
}
