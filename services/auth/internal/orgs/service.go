package orgs

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/agenttrace/agenttrace/pkg/authn"
	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/services/auth/internal/audit"
	"github.com/agenttrace/agenttrace/services/auth/internal/identity"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

// DefaultInvitationTTL is how long an invitation can be accepted.
const DefaultInvitationTTL = 7 * 24 * time.Hour

// Config holds the Service's dependencies.
type Config struct {
	Store       Store
	Invalidator Invalidator
	// InvitationTTL is how long an invitation stays valid;
	// DefaultInvitationTTL when zero.
	InvitationTTL time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Service carries out organization administration under the package's
// rules.
type Service struct {
	store         Store
	invalidator   Invalidator
	invitationTTL time.Duration
	now           func() time.Time
}

// NewService builds a Service.
func NewService(cfg Config) *Service {
	s := &Service{store: cfg.Store, invalidator: cfg.Invalidator, invitationTTL: cfg.InvitationTTL, now: cfg.Now}
	if s.invitationTTL <= 0 {
		s.invitationTTL = DefaultInvitationTTL
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// CreateOrganization creates an organization owned by the calling user.
func (s *Service) CreateOrganization(ctx context.Context, c Caller, name string) (tenancy.Organization, error) {
	if err := requireUser(c); err != nil {
		return tenancy.Organization{}, err
	}
	name, err := tenancy.CleanName("name", name)
	if err != nil {
		return tenancy.Organization{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return tenancy.Organization{}, fmt.Errorf("organization id: %w", err)
	}
	var org tenancy.Organization
	err = s.store.InTx(ctx, func(tx Tx) error {
		var err error
		if org, err = tx.CreateOrganization(ctx, tenancy.Organization{ID: id, Name: name}); err != nil {
			return err
		}
		if _, err := tx.AddMember(ctx, identity.Membership{OrganizationID: org.ID, UserID: c.UserID, Role: owner}); err != nil {
			return err
		}
		if err := tx.Record(ctx, audit.Entry{
			OrganizationID: org.ID, Action: audit.ActionOrganizationCreate,
			TargetKind: "organization", TargetID: org.ID.String(),
			Details: map[string]string{"name": org.Name},
		}); err != nil {
			return err
		}
		return tx.Record(ctx, memberEntry(audit.ActionMemberAdd, org.ID, c.UserID, owner))
	})
	if err != nil {
		return tenancy.Organization{}, err
	}
	return org, nil
}

// ListOrganizations lists the calling user's organizations.
func (s *Service) ListOrganizations(ctx context.Context, c Caller) ([]tenancy.Organization, error) {
	if err := requireUser(c); err != nil {
		return nil, err
	}
	return s.store.UserOrganizations(ctx, c.UserID)
}

// requireUser refuses API keys and services: organizations are run by
// people, and a project key must not reach beyond its project.
func requireUser(c Caller) error {
	if c.Kind != authn.KindUser || c.UserID == uuid.Nil {
		return ErrNotAUser
	}
	return nil
}

// targetOrg is the organization a request names, defaulting to the
// caller's.
func targetOrg(c Caller, id uuid.UUID) (uuid.UUID, error) {
	switch {
	case id != uuid.Nil:
		return id, nil
	case c.OrganizationID != uuid.Nil:
		return c.OrganizationID, nil
	}
	return uuid.Nil, invalid("organization_id", "required: the caller has no organization to default to")
}

// memberEntry is the audit entry of a change to a member.
func memberEntry(action string, orgID, userID uuid.UUID, role authv1.Role) audit.Entry {
	return audit.Entry{
		OrganizationID: orgID, Action: action,
		TargetKind: "user", TargetID: userID.String(),
		Details: map[string]string{"role": identity.RoleName(role)},
	}
}
