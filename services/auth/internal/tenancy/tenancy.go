// Package tenancy is the domain of the auth service: organizations, their
// projects and the projects' API keys, and the rules that keep one
// organization from seeing or touching another's.
//
// Every operation on behalf of an API key takes the Caller it resolved to and
// is scoped to the caller's organization: an id that belongs to another
// organization behaves exactly like an id that does not exist (ErrNotFound),
// so that nothing reveals what other tenants have.
package tenancy

import (
	"time"

	"github.com/google/uuid"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
)

// Organization owns projects.
type Organization struct {
	ID        uuid.UUID
	Name      string
	CreatedAt time.Time
}

// Project owns API keys and, in the other services, all telemetry.
type Project struct {
	ID             uuid.UUID
	OrganizationID uuid.UUID
	Name           string
	CreatedAt      time.Time
}

// APIKey is a project key as stored: never its secret, only a hint of it.
type APIKey struct {
	ID             uuid.UUID
	ProjectID      uuid.UUID
	OrganizationID uuid.UUID
	PublicKey      string
	SecretHint     string
	Note           string
	CreatedAt      time.Time
	LastUsedAt     *time.Time
	RevokedAt      *time.Time
	// Scopes limit what the key may do (pkg/authz).
	Scopes []authv1.APIKeyScope
}

// Revoked reports whether the key no longer authenticates anyone.
func (k APIKey) Revoked() bool { return k.RevokedAt != nil }

// CreatedKey is a key together with its secret, which exists only in the
// answer to the call that created it.
type CreatedKey struct {
	Key    APIKey
	Secret string
}

// Caller is the authenticated organization and project a call acts for.
type Caller struct {
	OrganizationID uuid.UUID
	ProjectID      uuid.UUID
}
