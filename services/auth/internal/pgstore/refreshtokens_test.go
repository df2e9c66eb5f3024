package pgstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/agenttrace/agenttrace/services/auth/internal/identity"
	"github.com/agenttrace/agenttrace/services/auth/internal/pgstore"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

func newRefreshToken(t *testing.T, s *pgstore.Store, u identity.User, expires time.Time) identity.TokenHash {
	t.Helper()
	hash := identity.HashToken("rt-at-" + newID(t).String())
	got, err := s.CreateRefreshToken(context.Background(), identity.RefreshToken{
		ID: newID(t), FamilyID: newID(t), UserID: u.ID, ExpiresAt: expires, ClientIP: "192.0.2.1", UserAgent: "test"}, hash)
	if err != nil {
		t.Fatal(err)
	}
	if got.CreatedAt.IsZero() || got.ClientIP != "192.0.2.1" {
		t.Fatalf("created %+v", got)
	}
	return hash
}

func rotate(t *testing.T, s *pgstore.Store, presented identity.TokenHash, at time.Time) (identity.RefreshToken, identity.TokenHash, error) {
	t.Helper()
	next := identity.HashToken("rt-at-" + newID(t).String())
	tok, err := s.RotateRefreshToken(context.Background(), presented,
		identity.RefreshToken{ID: newID(t), ExpiresAt: at.Add(time.Hour)}, next, at)
	return tok, next, err
}

func TestRefreshTokenRotationAndReuse(t *testing.T) {
	s := newStore(t)
	u := newUser(t, s)
	now := time.Now()
	first := newRefreshToken(t, s, u, now.Add(time.Hour))

	tok, second, err := rotate(t, s, first, now)
	if err != nil {
		t.Fatal(err)
	}
	if tok.UserID != u.ID {
		t.Fatalf("rotated token %+v", tok)
	}
	_, third, err := rotate(t, s, second, now)
	if err != nil {
		t.Fatal(err)
	}
	// The first token again: reuse, the family is revoked, and the newest
	// token (third) no longer works either.
	if _, _, err := rotate(t, s, first, now); !errors.Is(err, identity.ErrRefreshTokenReused) || !errors.Is(err, identity.ErrInvalidRefreshToken) {
		t.Fatalf("reuse: %v", err)
	}
	if _, _, err := rotate(t, s, third, now); !errors.Is(err, identity.ErrInvalidRefreshToken) || errors.Is(err, identity.ErrRefreshTokenReused) {
		t.Fatalf("newest token after reuse: %v", err)
	}
	// Another family of the same user is untouched.
	other := newRefreshToken(t, s, u, now.Add(time.Hour))
	if _, _, err := rotate(t, s, other, now); err != nil {
		t.Fatalf("other family: %v", err)
	}
}

func TestRefreshTokenRefusals(t *testing.T) {
	s := newStore(t)
	u := newUser(t, s)
	now := time.Now()
	expired := newRefreshToken(t, s, u, now)
	if _, _, err := rotate(t, s, expired, now); !errors.Is(err, identity.ErrInvalidRefreshToken) {
		t.Fatalf("expired: %v", err)
	}
	if _, _, err := rotate(t, s, identity.HashToken("unknown"), now); !errors.Is(err, identity.ErrInvalidRefreshToken) {
		t.Fatalf("unknown: %v", err)
	}

	// Logout revokes the family; twice is fine, an unknown token too.
	live := newRefreshToken(t, s, u, now.Add(time.Hour))
	_, next, err := rotate(t, s, live, now)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := s.RevokeRefreshTokenFamily(context.Background(), live, now); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RevokeRefreshTokenFamily(context.Background(), identity.HashToken("unknown"), now); err != nil {
		t.Fatal(err)
	}
	if _, _, err := rotate(t, s, next, now); !errors.Is(err, identity.ErrInvalidRefreshToken) || errors.Is(err, identity.ErrRefreshTokenReused) {
		t.Fatalf("after logout: %v", err)
	}

	if _, err := s.CreateRefreshToken(context.Background(), identity.RefreshToken{ID: newID(t), FamilyID: newID(t),
		UserID: newID(t), ExpiresAt: now}, identity.HashToken("x")); !errors.Is(err, tenancy.ErrNotFound) {
		t.Fatalf("token of an unknown user: %v", err)
	}
	if _, err := s.CreateRefreshToken(context.Background(), identity.RefreshToken{ID: newID(t), FamilyID: newID(t),
		UserID: u.ID, ExpiresAt: now}, next); !errors.Is(err, tenancy.ErrAlreadyExists) {
		t.Fatalf("reused hash: %v", err)
	}
}

func TestConcurrentRotationRevokesFamily(t *testing.T) {
	s := newStore(t)
	u := newUser(t, s)
	now := time.Now()
	tok := newRefreshToken(t, s, u, now.Add(time.Hour))
	var wg sync.WaitGroup
	errs := make([]error, 2)
	nexts := make([]identity.TokenHash, 2)
	for i := range errs {
		wg.Go(func() { _, nexts[i], errs[i] = rotate(t, s, tok, now) })
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Fatalf("want exactly one rotation to win: %v", errs)
	}
	for i, err := range errs {
		if err == nil {
			// The winner's token was revoked with the family.
			if _, _, err := rotate(t, s, nexts[i], now); !errors.Is(err, identity.ErrInvalidRefreshToken) {
				t.Fatalf("winner's token after reuse: %v", err)
			}
		} else if !errors.Is(err, identity.ErrRefreshTokenReused) {
			t.Fatalf("loser: %v", err)
		}
	}
}
