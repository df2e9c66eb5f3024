package grpcapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/agenttrace/agenttrace/pkg/authn"
	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/services/auth/internal/identity"
)

// newUser makes a user who owns each of orgs, and returns a context
// carrying their access token.
func (e *env) newUser(t *testing.T, orgs ...string) context.Context {
	t.Helper()
	ctx := context.Background()
	u, err := e.store.CreateUser(ctx, identity.User{ID: uuid.New(), Email: uuid.NewString() + "@example.com",
		PasswordHash: "$argon2id$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA"})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range orgs {
		if _, err := e.store.CreateMembership(ctx, identity.Membership{OrganizationID: uuid.MustParse(o), UserID: u.ID, Role: authv1.Role_ROLE_OWNER}); err != nil {
			t.Fatal(err)
		}
	}
	tok, err := e.ring.MintUserToken(u.ID.String(), u.Email, uuid.NewString(), time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return bearer(tok)
}

func projectNames(t *testing.T, resp *authv1.ListProjectsResponse, err error, org string) string {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range resp.GetProjects() {
		if p.GetOrganizationId() != org {
			t.Fatalf("listed %v, want projects of %s only", p, org)
		}
		names = append(names, p.GetName())
	}
	return strings.Join(names, ",")
}

// TestUserProjectsDefaultOrganization: a user who names no organization
// creates and lists projects in their only one; with several they are told
// to name one; a named organization is honoured; keys are unchanged.
func TestUserProjectsDefaultOrganization(t *testing.T) {
	e := newEnv(t, envOptions{})
	a, b := e.newTenant(t), e.newTenant(t)
	solo := e.newUser(t, a.orgID)
	multi := e.newUser(t, a.orgID, b.orgID)

	t.Run("one organization is the default", func(t *testing.T) {
		resp, err := e.client.CreateProject(solo, &authv1.CreateProjectRequest{Name: "solo"})
		if err != nil || resp.GetProject().GetOrganizationId() != a.orgID {
			t.Fatalf("CreateProject = %v, %v; want a project of %s", resp, err, a.orgID)
		}
		list, err := e.client.ListProjects(solo, &authv1.ListProjectsRequest{})
		if got := projectNames(t, list, err, a.orgID); got != "default,solo" {
			t.Fatalf("ListProjects = %s, want default,solo", got)
		}
	})
	t.Run("several organizations are refused", func(t *testing.T) {
		_, err := e.client.CreateProject(multi, &authv1.CreateProjectRequest{Name: "guess"})
		wantField(t, err, "organization_id")
		if msg := status.Convert(err).Message(); !strings.Contains(msg, "belongs to 2 organizations") {
			t.Fatalf("message %q does not say how many organizations", msg)
		}
		_, err = e.client.ListProjects(multi, &authv1.ListProjectsRequest{})
		wantField(t, err, "organization_id")
	})
	t.Run("a named organization is honoured", func(t *testing.T) {
		resp, err := e.client.CreateProject(multi, &authv1.CreateProjectRequest{Name: "named", OrganizationId: b.orgID})
		if err != nil || resp.GetProject().GetOrganizationId() != b.orgID {
			t.Fatalf("CreateProject = %v, %v; want a project of %s", resp, err, b.orgID)
		}
		list, err := e.client.ListProjects(multi, &authv1.ListProjectsRequest{OrganizationId: b.orgID})
		if got := projectNames(t, list, err, b.orgID); got != "default,named" {
			t.Fatalf("ListProjects = %s, want default,named", got)
		}
		// So is the organization of the project the header names.
		inA := metadata.AppendToOutgoingContext(multi, authn.ProjectHeader, a.projectID)
		list, err = e.client.ListProjects(inA, &authv1.ListProjectsRequest{})
		if got := projectNames(t, list, err, a.orgID); got != "default,solo" {
			t.Fatalf("ListProjects through the header = %s, want default,solo", got)
		}
	})
	t.Run("an organization of someone else is not", func(t *testing.T) {
		c := e.newTenant(t)
		_, err := e.client.ListProjects(solo, &authv1.ListProjectsRequest{OrganizationId: c.orgID})
		wantCode(t, err, codes.PermissionDenied)
	})
	t.Run("keys are unchanged", func(t *testing.T) {
		resp, err := e.client.CreateProject(b.ctx(), &authv1.CreateProjectRequest{Name: "by-key"})
		if err != nil || resp.GetProject().GetOrganizationId() != b.orgID {
			t.Fatalf("CreateProject = %v, %v; want a project of %s", resp, err, b.orgID)
		}
		list, err := e.client.ListProjects(b.ctx(), &authv1.ListProjectsRequest{})
		if got := projectNames(t, list, err, b.orgID); got != "default,named,by-key" {
			t.Fatalf("ListProjects = %s, want default,named,by-key", got)
		}
		_, err = e.client.ListProjects(b.ctx(), &authv1.ListProjectsRequest{OrganizationId: a.orgID})
		wantCode(t, err, codes.NotFound)
	})
	t.Run("a user without organization is told to name one", func(t *testing.T) {
		_, err := e.client.ListProjects(e.newUser(t), &authv1.ListProjectsRequest{})
		wantField(t, err, "organization_id")
	})
	t.Run("a project call without a project names the header", func(t *testing.T) {
		_, err := e.client.ListAPIKeys(solo, &authv1.ListAPIKeysRequest{})
		wantField(t, err, authn.ProjectHeader)
	})
}
