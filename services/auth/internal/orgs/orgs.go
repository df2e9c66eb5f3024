// Package orgs is the domain of organization administration: creating
// organizations, managing their members and roles, per-project role
// overrides, and invitations.
//
// The rules:
//
//   - Only users administer organizations; API keys and services cannot.
//   - The acting user's role is read from the database, in the target
//     organization, inside the transaction that makes the change: never from
//     a cached principal, which may be stale or speak for another
//     organization.
//   - A user who is not a member of an organization is told it does not
//     exist (ErrNotFound), whatever the id, so that nothing reveals which
//     organizations, members, projects or invitations other tenants have.
//   - Members of any role may read the member and invitation lists; OWNER
//     and ADMIN manage members, project roles and invitations.
//   - Only an OWNER may grant or take away the OWNER role, including by
//     removing an owner, inviting one or overriding an owner's project role.
//   - An organization always keeps at least one OWNER: the last one can be
//     neither demoted nor removed (not even by themselves).
//   - Any member may leave (remove themselves), the last owner excepted.
//
// Every change is written together with its audit event in one
// transaction; changes that weaken a user's access are then announced so
// that every replica forgets the user's cached principals at once.
package orgs

import (
	"time"

	"github.com/google/uuid"

	"github.com/agenttrace/agenttrace/pkg/authn"
	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
)

// Caller is the authenticated principal a call acts for.
type Caller struct {
	Kind   authn.Kind
	UserID uuid.UUID
	Email  string
	// OrganizationID is the principal's organization, the default for
	// requests that name none; uuid.Nil when it has none.
	OrganizationID uuid.UUID
}

// Member is a user's membership of an organization as the member list shows
// it.
type Member struct {
	UserID         uuid.UUID
	Email          string
	Name           string
	UserCreatedAt  time.Time
	OrganizationID uuid.UUID
	Role           authv1.Role
	// ProjectRoles are the member's per-project overrides.
	ProjectRoles map[uuid.UUID]authv1.Role
	JoinedAt     time.Time
}
