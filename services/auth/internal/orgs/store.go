package orgs

import (
	"context"
	"time"

	"github.com/google/uuid"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/services/auth/internal/audit"
	"github.com/agenttrace/agenttrace/services/auth/internal/identity"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

// Store persists organizations, memberships and invitations. Every method
// that takes an organization id sees only that organization's rows, and
// answers ErrNotFound for anything outside it.
type Store interface {
	// InTx runs fn in one transaction, committed when fn returns nil and
	// rolled back otherwise; fn's error is returned as it is.
	InTx(ctx context.Context, fn func(Tx) error) error

	// MemberRole is the user's role in the organization, or ErrNotFound
	// when the user is not a member (or the organization does not exist).
	MemberRole(ctx context.Context, orgID, userID uuid.UUID) (authv1.Role, error)
	// UserOrganizations lists the organizations the user is a member of,
	// by name.
	UserOrganizations(ctx context.Context, userID uuid.UUID) ([]tenancy.Organization, error)
	// ListMembers lists an organization's members with their project
	// overrides, oldest membership first.
	ListMembers(ctx context.Context, orgID uuid.UUID) ([]Member, error)
	// ListInvitations lists an organization's invitations in every state,
	// newest first.
	ListInvitations(ctx context.Context, orgID uuid.UUID) ([]identity.Invitation, error)
	// InvitationOrganization is the organization an invitation belongs to,
	// or ErrNotFound.
	InvitationOrganization(ctx context.Context, invitationID uuid.UUID) (uuid.UUID, error)
	// ProjectOrganization is the organization a project belongs to, or
	// ErrNotFound.
	ProjectOrganization(ctx context.Context, projectID uuid.UUID) (uuid.UUID, error)
}

// Tx is the part of a Store that runs inside one transaction: the reads a
// rule decides on and the writes that carry it out, with their audit events.
type Tx interface {
	// LockOrganization takes the organization's lock for membership
	// changes, so that two of them (say, two owners demoting each other)
	// run one after the other and each sees the other's outcome.
	// ErrNotFound when the organization does not exist.
	LockOrganization(ctx context.Context, orgID uuid.UUID) error
	// MemberRole is Store.MemberRole within the transaction.
	MemberRole(ctx context.Context, orgID, userID uuid.UUID) (authv1.Role, error)
	// CountOwners counts the organization's OWNER members.
	CountOwners(ctx context.Context, orgID uuid.UUID) (int, error)
	// Member reads one member with its project overrides, or ErrNotFound.
	Member(ctx context.Context, orgID, userID uuid.UUID) (Member, error)
	// UserEmail is the user's (normalized) email address, or ErrNotFound.
	UserEmail(ctx context.Context, userID uuid.UUID) (string, error)
	// HasMemberWithEmail reports whether a user with the email is a member
	// of the organization.
	HasMemberWithEmail(ctx context.Context, orgID uuid.UUID, email string) (bool, error)

	// CreateOrganization inserts org; ErrAlreadyExists when the name is taken.
	CreateOrganization(ctx context.Context, org tenancy.Organization) (tenancy.Organization, error)
	// AddMember inserts a membership; ErrAlreadyExists when the user is a
	// member already, ErrNotFound when the user or organization is missing.
	AddMember(ctx context.Context, m identity.Membership) (identity.Membership, error)
	// SetMemberRole changes a member's organization role.
	SetMemberRole(ctx context.Context, orgID, userID uuid.UUID, role authv1.Role) error
	// RemoveMember deletes a membership and, with it, the member's project
	// overrides in the organization.
	RemoveMember(ctx context.Context, orgID, userID uuid.UUID) error
	// ProjectRole is the member's override in the project, ROLE_UNSPECIFIED
	// when there is none.
	ProjectRole(ctx context.Context, projectID, userID uuid.UUID) (authv1.Role, error)
	// SetProjectRole sets the member's override in a project of orgID;
	// ROLE_UNSPECIFIED deletes it.
	SetProjectRole(ctx context.Context, orgID, projectID, userID uuid.UUID, role authv1.Role) error

	// CreateInvitation stores inv under the hash of its token.
	CreateInvitation(ctx context.Context, inv identity.Invitation, hash identity.TokenHash) (identity.Invitation, error)
	// LockInvitation reads and locks an invitation of the organization, or
	// ErrNotFound.
	LockInvitation(ctx context.Context, orgID, invitationID uuid.UUID) (identity.Invitation, error)
	// RevokeInvitation marks an invitation of the organization revoked.
	RevokeInvitation(ctx context.Context, orgID, invitationID uuid.UUID, at time.Time) (identity.Invitation, error)
	// AcceptInvitation checks the invitation with the token hash against
	// the user's email (identity.CheckInvitation), marks it accepted and
	// adds the membership it grants. Errors: the identity.ErrInvitation*
	// reasons, ErrAlreadyExists when the user is a member already.
	AcceptInvitation(ctx context.Context, hash identity.TokenHash, userID uuid.UUID, email string, at time.Time) (identity.Invitation, identity.Membership, error)

	// Record writes an audit event in the transaction.
	Record(ctx context.Context, e audit.Entry) error
}

// Invalidator tells every replica of every service that a user's access
// changed, so that cached principals of the user are dropped at once
// rather than when they expire.
type Invalidator interface {
	InvalidateUser(ctx context.Context, userID uuid.UUID) error
}

// InvalidatorFunc adapts a function to Invalidator.
type InvalidatorFunc func(ctx context.Context, userID uuid.UUID) error

// InvalidateUser implements Invalidator.
func (f InvalidatorFunc) InvalidateUser(ctx context.Context, userID uuid.UUID) error {
	return f(ctx, userID)
}
