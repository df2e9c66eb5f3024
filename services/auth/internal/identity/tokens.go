package identity

import (
	"context"
	"errors"
	"strings"

	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

// startSession issues the tokens of a new login: a refresh token that
// starts a new family, and an access token.
func (s *Service) startSession(ctx context.Context, u User, c Client) (Tokens, error) {
	family, err := newID()
	if err != nil {
		return Tokens{}, err
	}
	id, err := newID()
	if err != nil {
		return Tokens{}, err
	}
	refresh, hash, err := newRefreshToken()
	if err != nil {
		return Tokens{}, err
	}
	now := s.now()
	rt, err := s.cfg.Store.CreateRefreshToken(ctx, RefreshToken{
		ID: id, FamilyID: family, UserID: u.ID, ExpiresAt: now.Add(s.cfg.RefreshTTL),
		ClientIP: c.Address, UserAgent: c.UserAgent,
	}, hash)
	if err != nil {
		return Tokens{}, err
	}
	return s.tokens(u, refresh, rt)
}

// tokens mints the access token that goes with a refresh token.
func (s *Service) tokens(u User, refresh string, rt RefreshToken) (Tokens, error) {
	jti, err := newID()
	if err != nil {
		return Tokens{}, err
	}
	now := s.now()
	access, err := s.cfg.Keys.MintUserToken(u.ID.String(), u.Email, jti.String(), now, s.cfg.AccessTTL)
	if err != nil {
		return Tokens{}, err
	}
	return Tokens{
		Access: access, AccessExpiresAt: now.Add(s.cfg.AccessTTL),
		Refresh: refresh, RefreshExpiresAt: rt.ExpiresAt,
	}, nil
}

// Refresh exchanges a refresh token for a new pair. The presented token
// must be the current one of its family: presenting a token that was
// already exchanged revokes the whole family (every token of that login),
// because one of the two presenters is a thief and we cannot tell which.
// Every failure is ErrInvalidRefreshToken to the caller.
func (s *Service) Refresh(ctx context.Context, token string, c Client) (Tokens, error) {
	if !strings.HasPrefix(token, RefreshTokenPrefix) {
		return Tokens{}, ErrInvalidRefreshToken
	}
	id, err := newID()
	if err != nil {
		return Tokens{}, err
	}
	next, nextHash, err := newRefreshToken()
	if err != nil {
		return Tokens{}, err
	}
	now := s.now()
	rt, err := s.cfg.Store.RotateRefreshToken(ctx, HashToken(token), RefreshToken{
		ID: id, ExpiresAt: now.Add(s.cfg.RefreshTTL), ClientIP: c.Address, UserAgent: c.UserAgent,
	}, nextHash, now)
	if errors.Is(err, ErrRefreshTokenReused) {
		s.log.WarnContext(ctx, "rotated refresh token presented again; its login was revoked", "err", err, "client_ip", c.Address)
		return Tokens{}, ErrInvalidRefreshToken
	}
	if err != nil {
		return Tokens{}, err
	}
	u, err := s.cfg.Store.GetUser(ctx, rt.UserID)
	if errors.Is(err, tenancy.ErrNotFound) {
		return Tokens{}, ErrInvalidRefreshToken // deleted meanwhile
	}
	if err != nil {
		return Tokens{}, err
	}
	return s.tokens(u, next, rt)
}

// Logout revokes the refresh token's family, so that neither it nor any
// token issued from the same login can be refreshed again. Access tokens
// already issued stay valid until they expire (minutes). Logging out with
// an unknown, expired or already revoked token succeeds: the session is
// over either way.
func (s *Service) Logout(ctx context.Context, token string) error {
	if !strings.HasPrefix(token, RefreshTokenPrefix) {
		return nil
	}
	return s.cfg.Store.RevokeRefreshTokenFamily(ctx, HashToken(token), s.now())
}
