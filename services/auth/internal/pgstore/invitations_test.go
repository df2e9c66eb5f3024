package pgstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/services/auth/internal/identity"
	"github.com/agenttrace/agenttrace/services/auth/internal/pgstore"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

func newInvitation(t *testing.T, s *pgstore.Store, orgID uuid.UUID, email string, expires time.Time) (identity.Invitation, identity.TokenHash) {
	t.Helper()
	_, hash, err := identity.NewInvitationToken()
	if err != nil {
		t.Fatal(err)
	}
	inv, err := s.CreateInvitation(context.Background(), identity.Invitation{
		ID: newID(t), OrganizationID: orgID, Email: email, Role: authv1.Role_ROLE_MEMBER, ExpiresAt: expires}, hash)
	if err != nil {
		t.Fatal(err)
	}
	return inv, hash
}

func TestInvitationLifecycle(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	f := newFixture(t, s)
	inviter := newUser(t, s)
	now := time.Now()

	_, hash, _ := identity.NewInvitationToken()
	inv, err := s.CreateInvitation(ctx, identity.Invitation{ID: newID(t), OrganizationID: f.org.ID, Email: "New@Example.com",
		Role: authv1.Role_ROLE_ADMIN, InvitedByUserID: &inviter.ID, ExpiresAt: now.Add(time.Hour)}, hash)
	if err != nil {
		t.Fatal(err)
	}
	if inv.Email != "new@example.com" || inv.CreatedAt.IsZero() || *inv.InvitedByUserID != inviter.ID {
		t.Fatalf("created %+v", inv)
	}
	got, err := s.GetInvitationByTokenHash(ctx, hash)
	if err != nil || got.ID != inv.ID || got.Role != authv1.Role_ROLE_ADMIN {
		t.Fatalf("GetInvitationByTokenHash = %+v, %v", got, err)
	}
	if _, err := s.GetInvitationByTokenHash(ctx, identity.HashToken("nope")); !errors.Is(err, tenancy.ErrNotFound) {
		t.Fatalf("unknown hash: %v", err)
	}
	list, err := s.ListInvitations(ctx, f.org.ID)
	if err != nil || len(list) != 1 || list[0].ID != inv.ID {
		t.Fatalf("ListInvitations = %+v, %v", list, err)
	}

	// The invitation is for new@example.com; another user cannot take it.
	other := newUser(t, s)
	if _, _, err := s.AcceptInvitation(ctx, hash, other.ID, other.Email, now); !errors.Is(err, identity.ErrInvitationForOther) {
		t.Fatalf("accept for another email: %v", err)
	}
	invitee, err := s.CreateUser(ctx, identity.User{ID: newID(t), Email: "new@example.com", PasswordHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	accepted, m, err := s.AcceptInvitation(ctx, hash, invitee.ID, "NEW@example.com", now)
	if err != nil {
		t.Fatal(err)
	}
	if accepted.AcceptedAt == nil || *accepted.AcceptedBy != invitee.ID || m.Role != authv1.Role_ROLE_ADMIN || m.OrganizationID != f.org.ID {
		t.Fatalf("accepted %+v, membership %+v", accepted, m)
	}
	if _, _, err := s.AcceptInvitation(ctx, hash, invitee.ID, invitee.Email, now); !errors.Is(err, identity.ErrInvitationUsed) {
		t.Fatalf("second accept: %v", err)
	}

	revoked, err := s.RevokeInvitation(ctx, f.org.ID, inv.ID, now)
	if err != nil || revoked.RevokedAt == nil {
		t.Fatalf("RevokeInvitation = %+v, %v", revoked, err)
	}
	again, err := s.RevokeInvitation(ctx, f.org.ID, inv.ID, now.Add(time.Hour))
	if err != nil || !again.RevokedAt.Equal(*revoked.RevokedAt) {
		t.Fatalf("revoking again moved the time: %+v, %v", again, err)
	}
	if _, err := s.RevokeInvitation(ctx, newFixture(t, s).org.ID, inv.ID, now); !errors.Is(err, tenancy.ErrNotFound) {
		t.Fatalf("revoke from another organization: %v", err)
	}
}

func TestAcceptInvitationRefusals(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	f := newFixture(t, s)
	now := time.Now()
	u := newUser(t, s)

	_, expiredHash := newInvitation(t, s, f.org.ID, u.Email, now.Add(-time.Second))
	revoked, revokedHash := newInvitation(t, s, f.org.ID, u.Email, now.Add(time.Hour))
	if _, err := s.RevokeInvitation(ctx, f.org.ID, revoked.ID, now); err != nil {
		t.Fatal(err)
	}
	member := newUser(t, s)
	if _, err := s.CreateMembership(ctx, identity.Membership{OrganizationID: f.org.ID, UserID: member.ID, Role: authv1.Role_ROLE_VIEWER}); err != nil {
		t.Fatal(err)
	}
	_, memberHash := newInvitation(t, s, f.org.ID, member.Email, now.Add(time.Hour))

	cases := []struct {
		name string
		hash identity.TokenHash
		user identity.User
		want error
	}{
		{"unknown", identity.HashToken("inv-at-unknown"), u, identity.ErrInvitationUnknown},
		{"expired", expiredHash, u, identity.ErrInvitationExpired},
		{"revoked", revokedHash, u, identity.ErrInvitationRevoked},
		{"already a member", memberHash, member, tenancy.ErrAlreadyExists},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := s.AcceptInvitation(ctx, tc.hash, tc.user.ID, tc.user.Email, now); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	// The refused acceptance by a member rolled back: the invitation is open.
	if inv, err := s.GetInvitationByTokenHash(ctx, memberHash); err != nil || inv.AcceptedAt != nil {
		t.Fatalf("after refused accept: %+v, %v", inv, err)
	}
	if _, err := s.CreateInvitation(ctx, identity.Invitation{ID: newID(t), OrganizationID: newID(t), Email: "a@b.c",
		Role: authv1.Role_ROLE_MEMBER, ExpiresAt: now}, identity.HashToken("x")); !errors.Is(err, tenancy.ErrNotFound) {
		t.Fatalf("invitation to unknown org: %v", err)
	}
	if _, err := s.CreateInvitation(ctx, identity.Invitation{ID: newID(t), OrganizationID: f.org.ID, Email: "a@b.c",
		ExpiresAt: now}, identity.HashToken("y")); !errors.Is(err, tenancy.ErrInvalidArgument) {
		t.Fatalf("invitation without role: %v", err)
	}
	if _, err := s.CreateInvitation(ctx, identity.Invitation{ID: newID(t), OrganizationID: f.org.ID, Email: "",
		Role: authv1.Role_ROLE_MEMBER, ExpiresAt: now}, identity.HashToken("z")); !errors.Is(err, tenancy.ErrInvalidArgument) {
		t.Fatalf("invitation without email: %v", err)
	}
	_, dupHash := newInvitation(t, s, f.org.ID, "dup@example.com", now.Add(time.Hour))
	if _, err := s.CreateInvitation(ctx, identity.Invitation{ID: newID(t), OrganizationID: f.org.ID, Email: "d@example.com",
		Role: authv1.Role_ROLE_MEMBER, ExpiresAt: now}, dupHash); !errors.Is(err, tenancy.ErrAlreadyExists) {
		t.Fatalf("reused token hash: %v", err)
	}
}

func TestCreateInvitedUser(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	f := newFixture(t, s)
	now := time.Now()
	email := "invited-" + newID(t).String() + "@example.com"
	_, hash := newInvitation(t, s, f.org.ID, email, now.Add(time.Hour))

	// A wrong email creates nothing.
	if _, err := s.CreateInvitedUser(ctx, identity.User{ID: newID(t), Email: "x" + email, PasswordHash: "h"}, hash, now, nil); !errors.Is(err, identity.ErrInvitationForOther) {
		t.Fatalf("wrong email: %v", err)
	}
	if _, err := s.GetUserByEmail(ctx, "x"+email); !errors.Is(err, tenancy.ErrNotFound) {
		t.Fatalf("user of a refused signup exists: %v", err)
	}

	// Concurrent signups with one invitation: exactly one wins.
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = s.CreateInvitedUser(ctx, identity.User{ID: newID(t), Email: email, PasswordHash: "h"}, hash, now, nil)
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
		} else if !errors.Is(err, identity.ErrInvitationUsed) {
			t.Errorf("losing signup: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d signups won: %v", won, errs)
	}
	u, err := s.GetUserByEmail(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	if m, err := s.GetMembership(ctx, f.org.ID, u.ID); err != nil || m.Role != authv1.Role_ROLE_MEMBER {
		t.Fatalf("membership = %+v, %v", m, err)
	}

	// A valid invitation for a taken email: the signup is refused, the
	// invitation stays open for the existing user to accept.
	_, hash2 := newInvitation(t, s, newFixture(t, s).org.ID, email, now.Add(time.Hour))
	if _, err := s.CreateInvitedUser(ctx, identity.User{ID: newID(t), Email: email, PasswordHash: "h"}, hash2, now, nil); !errors.Is(err, pgstore.ErrEmailTaken) {
		t.Fatalf("taken email: %v", err)
	}
	if inv, _ := s.GetInvitationByTokenHash(ctx, hash2); inv.AcceptedAt != nil {
		t.Fatal("invitation consumed by a refused signup")
	}
}

func TestCreateInvitedUserHook(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	f := newFixture(t, s)
	now := time.Now()
	email := "hooked-" + newID(t).String() + "@example.com"
	_, hash := newInvitation(t, s, f.org.ID, email, now.Add(time.Hour))
	u := identity.User{ID: newID(t), Email: email, PasswordHash: "h"}

	// A failing hook undoes everything: no user, the invitation still open.
	boom := errors.New("audit failed")
	if _, err := s.CreateInvitedUser(ctx, u, hash, now, func(context.Context, pgx.Tx, identity.Signup) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("failing hook: %v", err)
	}
	if _, err := s.GetUser(ctx, u.ID); !errors.Is(err, tenancy.ErrNotFound) {
		t.Fatalf("user kept after failed hook: %v", err)
	}
	var seen identity.Signup
	got, err := s.CreateInvitedUser(ctx, u, hash, now, func(_ context.Context, _ pgx.Tx, su identity.Signup) error {
		seen = su
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen.User.ID != u.ID || seen.Invitation == nil || seen.Invitation.AcceptedAt == nil || got.Membership != seen.Membership {
		t.Fatalf("hook saw %+v, call returned %+v", seen, got)
	}
}
