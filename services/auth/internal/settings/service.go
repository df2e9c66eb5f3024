package settings

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/agenttrace/agenttrace/pkg/authn"
	"github.com/agenttrace/agenttrace/pkg/secretbox"
	"github.com/agenttrace/agenttrace/services/auth/internal/audit"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

// Config holds the Service's dependencies.
type Config struct {
	Store Store
	Box   Sealer
	Audit Auditor
}

// Service implements the settings rules over a Store.
type Service struct {
	store Store
	box   Sealer
	audit Auditor
}

// NewService builds a Service.
func NewService(cfg Config) *Service {
	return &Service{store: cfg.Store, box: cfg.Box, audit: cfg.Audit}
}

// caller is the organization a call acts in and its default project.
type caller struct {
	org, project uuid.UUID
}

// callerOf resolves the authenticated caller. Service principals belong to
// no organization, so they reach no project's settings here.
func callerOf(ctx context.Context) (caller, error) {
	p, ok := authn.FromContext(ctx)
	if !ok {
		return caller{}, fmt.Errorf("%w: unauthenticated", ErrPermissionDenied)
	}
	org, err := uuid.Parse(p.OrganizationID)
	if err != nil {
		return caller{}, fmt.Errorf("%w: the caller belongs to no organization", ErrPermissionDenied)
	}
	project, _ := uuid.Parse(p.ProjectID) // Nil when the caller names none
	return caller{org: org, project: project}, nil
}

// projectOf picks the requested project, else the caller's own.
func (c caller) projectOf(id uuid.UUID) (uuid.UUID, error) {
	if id != uuid.Nil {
		return id, nil
	}
	if c.project == uuid.Nil {
		return uuid.Nil, invalid("project_id", "required when the credentials name no project")
	}
	return c.project, nil
}

// GetProjectSettings returns the settings of a project of the caller's
// organization (the caller's project when projectID is Nil).
func (s *Service) GetProjectSettings(ctx context.Context, projectID uuid.UUID) (ProjectSettings, error) {
	c, err := callerOf(ctx)
	if err != nil {
		return ProjectSettings{}, err
	}
	if projectID, err = c.projectOf(projectID); err != nil {
		return ProjectSettings{}, err
	}
	return s.store.ProjectSettings(ctx, c.org, projectID, false)
}

// UpdateProjectSettings sets a project's retention period, audited with the
// previous value.
func (s *Service) UpdateProjectSettings(ctx context.Context, projectID uuid.UUID, retentionDays int32) (ProjectSettings, error) {
	c, err := callerOf(ctx)
	if err != nil {
		return ProjectSettings{}, err
	}
	if projectID, err = c.projectOf(projectID); err != nil {
		return ProjectSettings{}, err
	}
	if err := checkRetention(retentionDays); err != nil {
		return ProjectSettings{}, err
	}
	var out ProjectSettings
	err = s.store.InTx(ctx, func(st Store, tx pgx.Tx) error {
		before, err := st.ProjectSettings(ctx, c.org, projectID, true)
		if err != nil {
			return err
		}
		if out, err = st.SetRetentionDays(ctx, c.org, projectID, int(retentionDays)); err != nil {
			return err
		}
		return s.record(ctx, tx, audit.Entry{
			OrganizationID: out.OrganizationID,
			ProjectID:      out.ProjectID,
			Action:         audit.ActionSettingsUpdate,
			TargetKind:     "project",
			TargetID:       out.ProjectID.String(),
			Details: map[string]string{
				"retention_days":          strconv.Itoa(out.RetentionDays),
				"previous_retention_days": strconv.Itoa(before.RetentionDays),
			},
		})
	})
	if err != nil {
		return ProjectSettings{}, err
	}
	return out, nil
}

// ListRetentionPolicies lists every project with a retention period, for
// the worker's retention job: service callers only.
func (s *Service) ListRetentionPolicies(ctx context.Context) ([]ProjectSettings, error) {
	if p, ok := authn.FromContext(ctx); !ok || p.Kind != authn.KindService {
		return nil, fmt.Errorf("%w: retention policies are for services", ErrPermissionDenied)
	}
	return s.store.RetentionPolicies(ctx)
}

// record writes the audit event of an action in its transaction.
func (s *Service) record(ctx context.Context, tx pgx.Tx, e audit.Entry) error {
	_, err := s.audit.Record(ctx, tx, e)
	if errors.Is(err, audit.ErrUnavailable) {
		return fmt.Errorf("%w: %w", tenancy.ErrUnavailable, err)
	}
	return err
}

// sealKey encrypts a connection's key, bound to the connection.
func (s *Service) sealKey(id uuid.UUID, key string) ([]byte, error) {
	ct, err := s.box.Seal([]byte(key), apiKeyAAD(id))
	if err != nil {
		return nil, fmt.Errorf("seal api key: %w", err)
	}
	return ct, nil
}

// hint masks a key for display.
func hint(key string) string { return secretbox.Hint(key) }
