package pgstore_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/services/auth/internal/identity"
	"github.com/agenttrace/agenttrace/services/auth/internal/pgstore"
	"github.com/agenttrace/agenttrace/services/auth/internal/pgtest"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

// emptyStore is a store over a database of its own, migrated and without
// users, for the first-user rule (the package's shared database has users
// of other tests).
func emptyStore(t *testing.T) *pgstore.Store {
	t.Helper()
	u := pgtest.FreshURL(t)
	ctx := context.Background()
	if _, err := pgstore.EnsureDatabase(ctx, pgstore.Config{URL: u}); err != nil {
		t.Fatal(err)
	}
	m, err := pgstore.NewMigrator(pgstore.Config{URL: u})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Up(ctx); err != nil {
		t.Fatal(err)
	}
	return pgstore.New(pgtest.Pool(t, u))
}

func newUser(t *testing.T, s *pgstore.Store) identity.User {
	t.Helper()
	u, err := s.CreateUser(context.Background(), identity.User{
		ID: newID(t), Email: "User-" + newID(t).String() + "@Example.com", Name: "U", PasswordHash: "$argon2id$test"})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestCreateAndGetUser(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	u := newUser(t, s)
	if u.Email != strings.ToLower(u.Email) || u.CreatedAt.IsZero() {
		t.Fatalf("stored user %+v", u)
	}
	byID, err := s.GetUser(ctx, u.ID)
	if err != nil || byID.Email != u.Email || byID.PasswordHash != "$argon2id$test" {
		t.Fatalf("GetUser = %+v, %v", byID, err)
	}
	byEmail, err := s.GetUserByEmail(ctx, " "+strings.ToUpper(u.Email))
	if err != nil || byEmail.ID != u.ID {
		t.Fatalf("GetUserByEmail = %+v, %v", byEmail, err)
	}
	dup := identity.User{ID: newID(t), Email: strings.ToUpper(u.Email), PasswordHash: "x"}
	if _, err := s.CreateUser(ctx, dup); !errors.Is(err, pgstore.ErrEmailTaken) || !errors.Is(err, tenancy.ErrAlreadyExists) {
		t.Fatalf("duplicate email: %v", err)
	}
	if _, err := s.CreateUser(ctx, identity.User{ID: newID(t), Email: " ", PasswordHash: "x"}); !errors.Is(err, tenancy.ErrInvalidArgument) {
		t.Fatalf("empty email: %v", err)
	}
	if _, err := s.GetUser(ctx, newID(t)); !errors.Is(err, tenancy.ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
	if _, err := s.GetUserByEmail(ctx, "nobody@example.com"); !errors.Is(err, tenancy.ErrNotFound) {
		t.Fatalf("unknown email: %v", err)
	}
	if err := s.UpdatePasswordHash(ctx, u.ID, "$argon2id$new", time.Now()); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetUser(ctx, u.ID); got.PasswordHash != "$argon2id$new" || !got.UpdatedAt.After(u.UpdatedAt) {
		t.Fatalf("after update: %+v", got)
	}
	if err := s.UpdatePasswordHash(ctx, newID(t), "x", time.Now()); !errors.Is(err, tenancy.ErrNotFound) {
		t.Fatalf("update unknown user: %v", err)
	}
}

func TestCreateFirstUserConcurrently(t *testing.T) {
	s := emptyStore(t)
	ctx := context.Background()
	const racers = 4
	var wg sync.WaitGroup
	errs := make([]error, racers)
	for i := range racers {
		wg.Go(func() {
			u := identity.User{ID: newID(t), Email: "first-" + uuid.NewString() + "@example.com", PasswordHash: "h"}
			org := tenancy.Organization{ID: newID(t), Name: "org-" + uuid.NewString()}
			_, errs[i] = s.CreateFirstUser(ctx, u, org, nil)
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, identity.ErrInvitationRequired):
			t.Errorf("losing racer: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d first users created, want 1 (%v)", won, errs)
	}
	if n, err := s.CountUsers(ctx); err != nil || n != 1 {
		t.Fatalf("CountUsers = %d, %v", n, err)
	}
}

func TestCreateFirstUserMakesOwner(t *testing.T) {
	s := emptyStore(t)
	ctx := context.Background()
	if n, err := s.CountUsers(ctx); err != nil || n != 0 {
		t.Fatalf("CountUsers = %d, %v", n, err)
	}
	// A name taken by an organization made before any user: nothing is created.
	taken, err := s.EnsureOrganization(ctx, tenancy.Organization{ID: newID(t), Name: "taken"})
	if err != nil {
		t.Fatal(err)
	}
	u := identity.User{ID: newID(t), Email: "Owner@Example.com", PasswordHash: "h"}
	if _, err := s.CreateFirstUser(ctx, u, tenancy.Organization{ID: newID(t), Name: taken.Name}, nil); !errors.Is(err, tenancy.ErrAlreadyExists) {
		t.Fatalf("taken org name: %v", err)
	}
	if n, _ := s.CountUsers(ctx); n != 0 {
		t.Fatal("the user of a failed first signup was kept")
	}
	var hooked bool
	su, err := s.CreateFirstUser(ctx, u, tenancy.Organization{ID: newID(t), Name: "acme"},
		func(context.Context, pgx.Tx, identity.Signup) error { hooked = true; return nil })
	if err != nil || !hooked {
		t.Fatal(err, hooked)
	}
	got, m := su.User, su.Membership
	if got.Email != "owner@example.com" || m.UserID != got.ID || m.Role != authv1.Role_ROLE_OWNER || m.OrganizationName != "acme" {
		t.Fatalf("first user %+v, membership %+v", got, m)
	}
	second := identity.User{ID: newID(t), Email: "second@example.com", PasswordHash: "h"}
	if _, err := s.CreateFirstUser(ctx, second, tenancy.Organization{ID: newID(t), Name: "other"}, nil); !errors.Is(err, identity.ErrInvitationRequired) {
		t.Fatalf("second first user: %v", err)
	}
}
