package tenancy_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/agenttrace/agenttrace/pkg/authn"
	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/services/auth/internal/identity"
	"github.com/agenttrace/agenttrace/services/auth/internal/pgstore"
	"github.com/agenttrace/agenttrace/services/auth/internal/pgtest"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestProjectsCaller(t *testing.T) {
	ctx := context.Background()
	store := pgstore.New(pgtest.Pool(t, pgtest.URL(t)))
	svc := tenancy.NewService(tenancy.Config{Store: store})

	newOrg := func() uuid.UUID {
		o, err := store.EnsureOrganization(ctx, tenancy.Organization{ID: uuid.New(), Name: "org " + uuid.NewString()})
		if err != nil {
			t.Fatal(err)
		}
		return o.ID
	}
	orgA, orgB := newOrg(), newOrg()
	u, err := store.CreateUser(ctx, identity.User{ID: uuid.New(), Email: uuid.NewString() + "@example.com", PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.CreateMembership(ctx, identity.Membership{OrganizationID: orgA, UserID: u.ID, Role: authv1.Role_ROLE_ADMIN}); err != nil {
		t.Fatal(err)
	}
	project := uuid.New()
	user := func(org uuid.UUID) authn.Principal {
		p := authn.Principal{Kind: authn.KindUser, UserID: u.ID.String()}
		if org != uuid.Nil {
			p.OrganizationID = org.String()
		}
		return p
	}
	key := authn.Principal{Kind: authn.KindAPIKey, KeyID: uuid.NewString(), OrganizationID: orgA.String(), ProjectID: project.String()}

	tests := []struct {
		name      string
		p         authn.Principal
		requested uuid.UUID
		wantOrg   uuid.UUID
		wantErr   error
	}{
		{"user, principal's organization", user(orgA), uuid.Nil, orgA, nil},
		{"user, organization named", user(uuid.Nil), orgA, orgA, nil},
		{"user, same organization named", user(orgA), orgA, orgA, nil},
		{"user, no organization at all", user(uuid.Nil), uuid.Nil, uuid.Nil, tenancy.ErrInvalidArgument},
		{"user, another organization than authorized", user(orgA), orgB, uuid.Nil, tenancy.ErrInvalidArgument},
		{"user, not a member", user(uuid.Nil), orgB, uuid.Nil, tenancy.ErrNotFound},
		{"user, no such organization", user(uuid.Nil), uuid.New(), uuid.Nil, tenancy.ErrNotFound},
		{"user, stale principal of a left organization", user(orgB), uuid.Nil, uuid.Nil, tenancy.ErrNotFound},
		{"key, own organization", key, uuid.Nil, orgA, nil},
		{"key, own organization named", key, orgA, orgA, nil},
		{"key, another organization", key, orgB, uuid.Nil, tenancy.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := svc.ProjectsCaller(ctx, tt.p, tt.requested)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || c.OrganizationID != tt.wantOrg {
				t.Fatalf("ProjectsCaller = %+v, %v; want organization %s", c, err, tt.wantOrg)
			}
		})
	}

	// A member of A and B alike gets the same answer for "not a member" as
	// for "does not exist": the message names only the id asked for.
	other := uuid.New()
	_, errB := svc.ProjectsCaller(ctx, user(uuid.Nil), orgB)
	_, errX := svc.ProjectsCaller(ctx, user(uuid.Nil), other)
	if errB.Error() != "organization "+orgB.String()+": not found" || errX.Error() != "organization "+other.String()+": not found" {
		t.Fatalf("errors %q and %q differ in more than the id", errB, errX)
	}

	// Broken principals are internal errors, not caller errors.
	for name, p := range map[string]authn.Principal{
		"service":           {Kind: authn.KindService, Service: "ingest"},
		"user id malformed": {Kind: authn.KindUser, UserID: "x", OrganizationID: orgA.String()},
		"key without org":   {Kind: authn.KindAPIKey, ProjectID: project.String()},
		"org malformed":     {Kind: authn.KindUser, UserID: u.ID.String(), OrganizationID: "x"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := svc.ProjectsCaller(ctx, p, uuid.Nil)
			if err == nil || errors.Is(err, tenancy.ErrNotFound) || errors.Is(err, tenancy.ErrInvalidArgument) {
				t.Fatalf("err = %v, want an internal error", err)
			}
		})
	}
}
