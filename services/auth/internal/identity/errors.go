package identity

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors of the identity rules, mapped to gRPC codes once at the
// transport edge. Store errors reuse the tenancy sentinels (ErrNotFound,
// ErrAlreadyExists, ErrUnavailable), which the edge maps as well.
var (
	// ErrInvalidCredentials: wrong password or no such user; the two are
	// deliberately one error.
	ErrInvalidCredentials = errors.New("invalid email or password")
	// ErrInvitationRequired: the installation has users, so a signup needs
	// an invitation.
	ErrInvitationRequired = errors.New("signup needs an invitation: ask an organization admin to invite this email address")
	// ErrInvitationInvalid: the invitation cannot admit this signup; the
	// wrapping error says why (unknown, expired, revoked, used, other email).
	ErrInvitationInvalid = errors.New("invitation cannot be used")
	// ErrInvalidRefreshToken: the refresh token is unknown, expired,
	// revoked or was already used. One error for all, so that a caller
	// cannot probe which tokens exist.
	ErrInvalidRefreshToken = errors.New("invalid or expired refresh token: log in again")
	// ErrRefreshTokenReused: a rotated refresh token was presented again;
	// its family has been revoked. Callers see ErrInvalidRefreshToken; the
	// distinction is for logs.
	ErrRefreshTokenReused = fmt.Errorf("%w (reuse of a rotated token; its login was revoked)", ErrInvalidRefreshToken)
	// ErrNotAUser: GetCurrentUser was called with credentials of an API key
	// or a service.
	ErrNotAUser = errors.New("this call needs a user's access token, not an API key")
	// ErrUserGone: a valid access token of a user that was deleted since.
	ErrUserGone = errors.New("the user of this token no longer exists")
)

// Reasons an invitation cannot be used, wrapped around ErrInvitationInvalid.
var (
	ErrInvitationUnknown  = fmt.Errorf("%w: unknown invitation token", ErrInvitationInvalid)
	ErrInvitationExpired  = fmt.Errorf("%w: it has expired; ask for a new one", ErrInvitationInvalid)
	ErrInvitationRevoked  = fmt.Errorf("%w: it was revoked", ErrInvitationInvalid)
	ErrInvitationUsed     = fmt.Errorf("%w: it was already accepted", ErrInvitationInvalid)
	ErrInvitationForOther = fmt.Errorf("%w: it was issued for another email address", ErrInvitationInvalid)
)

// RateLimitError says an attempt was refused by a limiter and when to retry.
type RateLimitError struct {
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("too many attempts; retry in %s", e.RetryAfter.Round(time.Second))
}

// CheckInvitation reports whether inv may admit email at now: not revoked,
// not accepted, not expired, and issued for that address. It is the one
// place this rule is written; the store runs it on the row it has locked.
func CheckInvitation(inv Invitation, email string, now time.Time) error {
	switch {
	case inv.RevokedAt != nil:
		return ErrInvitationRevoked
	case inv.AcceptedAt != nil:
		return ErrInvitationUsed
	case !now.Before(inv.ExpiresAt):
		return ErrInvitationExpired
	case inv.Email != NormalizeEmail(email):
		return ErrInvitationForOther
	}
	return nil
}
