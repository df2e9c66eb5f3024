package pgstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/services/auth/internal/identity"
	"github.com/agenttrace/agenttrace/services/auth/internal/pgtest"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

func TestMemberships(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	f := newFixture(t, s)
	u := newUser(t, s)

	m, err := s.CreateMembership(ctx, identity.Membership{OrganizationID: f.org.ID, UserID: u.ID, Role: authv1.Role_ROLE_MEMBER})
	if err != nil {
		t.Fatal(err)
	}
	if m.OrganizationName != f.org.Name || m.Role != authv1.Role_ROLE_MEMBER || m.CreatedAt.IsZero() {
		t.Fatalf("membership %+v", m)
	}
	got, err := s.GetMembership(ctx, f.org.ID, u.ID)
	if err != nil || got != m {
		t.Fatalf("GetMembership = %+v, %v; want %+v", got, err, m)
	}

	// A second organization, owned; ListUserMemberships returns both by name.
	org2, owner, err := s.CreateOrganizationWithOwner(ctx, tenancy.Organization{ID: newID(t), Name: "a-" + uuid.NewString()}, u.ID)
	if err != nil || owner.Role != authv1.Role_ROLE_OWNER || owner.OrganizationID != org2.ID {
		t.Fatalf("CreateOrganizationWithOwner = %+v, %+v, %v", org2, owner, err)
	}
	list, err := s.ListUserMemberships(ctx, u.ID)
	if err != nil || len(list) != 2 || list[0].OrganizationID != org2.ID || list[1] != m {
		t.Fatalf("ListUserMemberships = %+v, %v", list, err)
	}
	if list, err := s.ListUserMemberships(ctx, newID(t)); err != nil || len(list) != 0 {
		t.Fatalf("memberships of a stranger = %+v, %v", list, err)
	}

	errCases := []struct {
		name string
		m    identity.Membership
		want error
	}{
		{"duplicate", identity.Membership{OrganizationID: f.org.ID, UserID: u.ID, Role: authv1.Role_ROLE_ADMIN}, tenancy.ErrAlreadyExists},
		{"unknown org", identity.Membership{OrganizationID: newID(t), UserID: u.ID, Role: authv1.Role_ROLE_ADMIN}, tenancy.ErrNotFound},
		{"unknown user", identity.Membership{OrganizationID: f.org.ID, UserID: newID(t), Role: authv1.Role_ROLE_ADMIN}, tenancy.ErrNotFound},
		{"no role", identity.Membership{OrganizationID: f.org.ID, UserID: newUser(t, s).ID}, tenancy.ErrInvalidArgument},
		{"bad role", identity.Membership{OrganizationID: f.org.ID, UserID: newUser(t, s).ID, Role: 42}, tenancy.ErrInvalidArgument},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.CreateMembership(ctx, tc.m); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := s.GetMembership(ctx, org2.ID, newID(t)); !errors.Is(err, tenancy.ErrNotFound) {
		t.Fatalf("GetMembership of a stranger: %v", err)
	}
	if _, _, err := s.CreateOrganizationWithOwner(ctx, tenancy.Organization{ID: newID(t), Name: org2.Name}, u.ID); !errors.Is(err, tenancy.ErrAlreadyExists) {
		t.Fatalf("organization name taken: %v", err)
	}
	orgX := tenancy.Organization{ID: newID(t), Name: "x-" + uuid.NewString()}
	if _, _, err := s.CreateOrganizationWithOwner(ctx, orgX, newID(t)); !errors.Is(err, tenancy.ErrNotFound) {
		t.Fatalf("unknown owner: %v", err)
	}
	if _, err := s.EnsureOrganization(ctx, orgX); err != nil {
		t.Fatal(err) // proves the failed call left no organization behind
	}
}

func TestEffectiveProjectRole(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	f := newFixture(t, s)
	member, outsider := newUser(t, s), newUser(t, s)
	if _, err := s.CreateMembership(ctx, identity.Membership{OrganizationID: f.org.ID, UserID: member.ID, Role: authv1.Role_ROLE_VIEWER}); err != nil {
		t.Fatal(err)
	}
	orgID, role, err := s.EffectiveProjectRole(ctx, member.ID, f.project.ID)
	if err != nil || orgID != f.org.ID || role != authv1.Role_ROLE_VIEWER {
		t.Fatalf("organization role: %v %v %v", orgID, role, err)
	}
	// A project override wins over the organization role.
	if _, err := pgtest.Pool(t, pgtest.URL(t)).Exec(ctx,
		`INSERT INTO project_roles (project_id, organization_id, user_id, role) VALUES ($1, $2, $3, 'ADMIN')`,
		f.project.ID, f.org.ID, member.ID); err != nil {
		t.Fatal(err)
	}
	if _, role, err := s.EffectiveProjectRole(ctx, member.ID, f.project.ID); err != nil || role != authv1.Role_ROLE_ADMIN {
		t.Fatalf("override: %v %v", role, err)
	}
	for name, ids := range map[string][2]uuid.UUID{
		"not a member":    {outsider.ID, f.project.ID},
		"unknown project": {member.ID, newID(t)},
	} {
		if _, _, err := s.EffectiveProjectRole(ctx, ids[0], ids[1]); !errors.Is(err, tenancy.ErrNotFound) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
