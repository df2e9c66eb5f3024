package identity

import (
	"context"
	"errors"

	"github.com/agenttrace/agenttrace/services/auth/internal/password"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

// Login checks email and password and starts a session. Every failure is
// ErrInvalidCredentials, and an unknown email costs the same password hash
// as a wrong password, so that neither the answer nor its timing tells
// whether an account exists. Attempts are limited per client address and
// per account (RateLimitError).
func (s *Service) Login(ctx context.Context, email, pw string, c Client) (Session, error) {
	email = NormalizeEmail(email)
	if err := s.limit(ctx, s.cfg.AddressLimiter, addressKey(c.Address), "login address"); err != nil {
		return Session{}, err
	}
	if err := s.limit(ctx, s.cfg.AccountLimiter, accountKey(email), "login account"); err != nil {
		return Session{}, err
	}
	if len(pw) > password.MaxBytes {
		// No password this long can have been set; don't hash megabytes.
		return Session{}, ErrInvalidCredentials
	}
	u, err := s.cfg.Store.GetUserByEmail(ctx, email)
	if errors.Is(err, tenancy.ErrNotFound) {
		if err := s.cfg.Hasher.VerifyNothing(ctx, pw); err != nil {
			return Session{}, err
		}
		return Session{}, ErrInvalidCredentials
	}
	if err != nil {
		return Session{}, err
	}
	ok, err := s.cfg.Hasher.Verify(ctx, pw, u.PasswordHash)
	switch {
	case errors.Is(err, password.ErrMalformedHash):
		// The operator must repair the row; the caller learns nothing.
		s.log.ErrorContext(ctx, "stored password hash is unreadable", "user", u, "err", err)
		return Session{}, ErrInvalidCredentials
	case err != nil:
		return Session{}, err
	case !ok:
		return Session{}, ErrInvalidCredentials
	}
	s.upgradeHash(ctx, u, pw)
	tokens, err := s.startSession(ctx, u, c)
	if err != nil {
		return Session{}, err
	}
	s.log.InfoContext(ctx, "user logged in", "user", u)
	return Session{User: u, Tokens: tokens}, nil
}

// upgradeHash stores a new hash when the parameters changed since the
// password was set; the password is known only now. Failing to do so is
// not the login's failure: it is tried again at the next login.
func (s *Service) upgradeHash(ctx context.Context, u User, pw string) {
	if !s.cfg.Hasher.NeedsRehash(u.PasswordHash) {
		return
	}
	hash, err := s.cfg.Hasher.Hash(ctx, pw)
	if err == nil {
		err = s.cfg.Store.UpdatePasswordHash(ctx, u.ID, hash, s.now())
	}
	if err != nil {
		s.log.WarnContext(ctx, "could not upgrade password hash", "user", u, "err", err)
		return
	}
	s.log.InfoContext(ctx, "password hash upgraded to current parameters", "user", u)
}
