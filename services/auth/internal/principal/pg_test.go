package principal

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/agenttrace/agenttrace/pkg/authn"
	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/services/auth/internal/identity"
	"github.com/agenttrace/agenttrace/services/auth/internal/pgstore"
	"github.com/agenttrace/agenttrace/services/auth/internal/pgtest"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestRolesFromPostgreSQL resolves users against the real store: the
// organization role, a project override, another tenant's project, and a
// membership removed.
func TestRolesFromPostgreSQL(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t, pgtest.URL(t))
	store := pgstore.New(pool)
	mk := func(t *testing.T) (tenancy.Organization, tenancy.Project, tenancy.Project) {
		t.Helper()
		org, err := store.EnsureOrganization(ctx, tenancy.Organization{ID: uuid.New(), Name: "principal-" + uuid.NewString()})
		if err != nil {
			t.Fatal(err)
		}
		var ps []tenancy.Project
		for _, name := range []string{"plain", "overridden"} {
			p, err := store.CreateProject(ctx, tenancy.Project{ID: uuid.New(), OrganizationID: org.ID, Name: name})
			if err != nil {
				t.Fatal(err)
			}
			ps = append(ps, p)
		}
		return org, ps[0], ps[1]
	}
	org, plain, overridden := mk(t)
	_, foreign, _ := mk(t)
	u, err := store.CreateUser(ctx, identity.User{ID: uuid.New(), Email: uuid.NewString() + "@example.com", PasswordHash: "$argon2id$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.CreateMembership(ctx, identity.Membership{OrganizationID: org.ID, UserID: u.ID, Role: authv1.Role_ROLE_VIEWER}); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO project_roles (project_id, organization_id, user_id, role) VALUES ($1, $2, $3, 'ADMIN')`,
		overridden.ID, org.ID, u.ID); err != nil {
		t.Fatal(err)
	}

	r := ring(t, secret)
	tok, err := r.MintUserToken(u.ID.String(), u.Email, "jti", time.Now(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	res := New(Config{Keys: &fakeKeys{}, Tokens: r, Roles: store})
	bearer := "Bearer " + tok
	tests := []struct {
		name     string
		req      authn.Request
		wantRole authv1.Role
		wantErr  error
	}{
		{name: "organization role in a project", req: authn.Request{Authorization: bearer, ProjectID: plain.ID.String()}, wantRole: authv1.Role_ROLE_VIEWER},
		{name: "project override", req: authn.Request{Authorization: bearer, ProjectID: overridden.ID.String()}, wantRole: authv1.Role_ROLE_ADMIN},
		{name: "override ignored for the organization role", req: authn.Request{Authorization: bearer, ProjectID: overridden.ID.String(), OrganizationRole: true}, wantRole: authv1.Role_ROLE_VIEWER},
		{name: "organization", req: authn.Request{Authorization: bearer, OrganizationID: org.ID.String()}, wantRole: authv1.Role_ROLE_VIEWER},
		{name: "another tenant's project", req: authn.Request{Authorization: bearer, ProjectID: foreign.ID.String()}, wantErr: authn.ErrNoAccess},
		{name: "another tenant's organization", req: authn.Request{Authorization: bearer, OrganizationID: foreign.OrganizationID.String()}, wantErr: authn.ErrNoAccess},
		{name: "no such project", req: authn.Request{Authorization: bearer, ProjectID: uuid.NewString()}, wantErr: authn.ErrNoAccess},
		{name: "only organization by default", req: authn.Request{Authorization: bearer, DefaultOrganization: true}, wantRole: authv1.Role_ROLE_VIEWER},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := res.Authenticate(ctx, tt.req)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Authenticate = %+v, %v; want %v", p, err, tt.wantErr)
				}
				return
			}
			if err != nil || p.Role != tt.wantRole || p.OrganizationID != org.ID.String() || p.UserID != u.ID.String() {
				t.Fatalf("Authenticate = %+v, %v; want role %v in %s", p, err, tt.wantRole, org.ID)
			}
		})
	}

	// In a second organization: no default any more.
	second, _, _ := mk(t)
	if _, err := store.CreateMembership(ctx, identity.Membership{OrganizationID: second.ID, UserID: u.ID, Role: authv1.Role_ROLE_OWNER}); err != nil {
		t.Fatal(err)
	}
	if got, err := res.Authenticate(ctx, authn.Request{Authorization: bearer, DefaultOrganization: true}); !errors.Is(err, authn.ErrTargetRequired) ||
		!strings.Contains(err.Error(), "belongs to 2 organizations") {
		t.Errorf("two organizations: %+v, %v; want ErrTargetRequired naming 2 organizations", got, err)
	}

	// Removed from the organization (the override goes with it): no access.
	if _, err := pool.Exec(ctx, `DELETE FROM memberships WHERE organization_id = $1 AND user_id = $2`, org.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	for _, p := range []tenancy.Project{plain, overridden} {
		if got, err := res.Authenticate(ctx, authn.Request{Authorization: bearer, ProjectID: p.ID.String()}); !errors.Is(err, authn.ErrNoAccess) {
			t.Errorf("removed member in %s: %+v, %v; want ErrNoAccess", p.Name, got, err)
		}
	}
}
