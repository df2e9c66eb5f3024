package tenancy

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"

	"github.com/agenttrace/agenttrace/services/auth/internal/apikey"
)

// Store persists organizations, projects and keys. Methods that take an
// organization id only ever see that organization's rows and return
// ErrNotFound for anything outside it.
type Store interface {
	// EnsureOrganization returns the organization with o.Name, creating it
	// with o.ID when there is none.
	EnsureOrganization(ctx context.Context, o Organization) (Organization, error)
	// EnsureProject returns the project named p.Name in p.OrganizationID,
	// creating it with p.ID when there is none.
	EnsureProject(ctx context.Context, p Project) (Project, error)
	// CreateProject inserts p; ErrAlreadyExists when its organization has a
	// project of that name.
	CreateProject(ctx context.Context, p Project) (Project, error)
	// ListProjects returns an organization's projects, oldest first.
	ListProjects(ctx context.Context, orgID uuid.UUID) ([]Project, error)
	// GetProject returns a project of the organization, or ErrNotFound.
	GetProject(ctx context.Context, orgID, projectID uuid.UUID) (Project, error)

	// CreateAPIKey inserts k, stored with the digest of its secret.
	CreateAPIKey(ctx context.Context, k APIKey, hash apikey.Hash) (APIKey, error)
	// ListAPIKeys returns a project's keys, revoked ones included, oldest first.
	ListAPIKeys(ctx context.Context, orgID, projectID uuid.UUID) ([]APIKey, error)
	// RevokeAPIKey marks a key of the organization revoked at at, keeping the
	// first revocation time when it already was; ErrNotFound when the
	// organization has no such key.
	RevokeAPIKey(ctx context.Context, orgID, keyID uuid.UUID, at time.Time) (APIKey, error)
	// APIKeyBySecretHash finds a key (revoked or not) by its secret's
	// digest, or ErrNotFound.
	APIKeyBySecretHash(ctx context.Context, hash apikey.Hash) (APIKey, error)
	// TouchAPIKeys sets the last_used_at of each key to its time, never
	// moving it back.
	TouchAPIKeys(ctx context.Context, uses map[uuid.UUID]time.Time) error

	// MemberRole is the user's role in the organization, or ErrNotFound
	// when the user is not a member of it.
	MemberRole(ctx context.Context, orgID, userID uuid.UUID) (authv1.Role, error)

	// InTx runs fn in one transaction: what fn does through st, and what
	// it writes through tx (the action's audit record), commits together,
	// or not at all when fn returns an error, which InTx returns.
	InTx(ctx context.Context, fn func(st Store, tx pgx.Tx) error) error
}
