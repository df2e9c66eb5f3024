package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/agenttrace/agenttrace/services/auth/internal/settings"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

// SettingsStore is the PostgreSQL settings.Store.
type SettingsStore struct {
	db conn
}

var _ settings.Store = (*SettingsStore)(nil)

// NewSettingsStore returns a SettingsStore over pool.
func NewSettingsStore(pool *pgxpool.Pool) *SettingsStore { return &SettingsStore{db: pool} }

// InTx implements settings.Store.
func (s *SettingsStore) InTx(ctx context.Context, fn func(st settings.Store, tx pgx.Tx) error) error {
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		return fn(&SettingsStore{db: tx}, tx)
	})
	if err != nil && unreachable(err) && !errors.Is(err, tenancy.ErrUnavailable) {
		return wrap(err, "transaction")
	}
	return err
}

// ProjectSettings implements settings.Store.
func (s *SettingsStore) ProjectSettings(ctx context.Context, orgID, projectID uuid.UUID, lock bool) (settings.ProjectSettings, error) {
	q := `SELECT id, organization_id, retention_days FROM projects WHERE organization_id = $1 AND id = $2`
	if lock {
		q += ` FOR UPDATE`
	}
	var ps settings.ProjectSettings
	err := s.db.QueryRow(ctx, q, orgID, projectID).Scan(&ps.ProjectID, &ps.OrganizationID, &ps.RetentionDays)
	if errors.Is(err, pgx.ErrNoRows) {
		return settings.ProjectSettings{}, fmt.Errorf("project %s: %w", projectID, tenancy.ErrNotFound)
	}
	return ps, wrap(err, "get project settings")
}

// SetRetentionDays implements settings.Store.
func (s *SettingsStore) SetRetentionDays(ctx context.Context, orgID, projectID uuid.UUID, days int) (settings.ProjectSettings, error) {
	var ps settings.ProjectSettings
	err := s.db.QueryRow(ctx,
		`UPDATE projects SET retention_days = $3 WHERE organization_id = $1 AND id = $2
		 RETURNING id, organization_id, retention_days`, orgID, projectID, days).
		Scan(&ps.ProjectID, &ps.OrganizationID, &ps.RetentionDays)
	if errors.Is(err, pgx.ErrNoRows) {
		return settings.ProjectSettings{}, fmt.Errorf("project %s: %w", projectID, tenancy.ErrNotFound)
	}
	return ps, wrap(err, "set retention days")
}

// RetentionPolicies implements settings.Store.
func (s *SettingsStore) RetentionPolicies(ctx context.Context) ([]settings.ProjectSettings, error) {
	rows, err := s.db.Query(ctx,
		`SELECT id, organization_id, retention_days FROM projects WHERE retention_days > 0 ORDER BY id`)
	if err != nil {
		return nil, wrap(err, "list retention policies")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (settings.ProjectSettings, error) {
		var ps settings.ProjectSettings
		err := r.Scan(&ps.ProjectID, &ps.OrganizationID, &ps.RetentionDays)
		return ps, err
	})
	return out, wrap(err, "list retention policies")
}
