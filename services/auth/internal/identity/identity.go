// Package identity is the domain of people: users who sign up and log in with
// email and password, their memberships (a role in an organization, with
// optional per-project overrides), invitations that admit them to an
// organization, and the rotating refresh tokens of their sessions.
//
// The rules live here: the first user of an installation creates the first
// organization and owns it, every later user needs an invitation; a refresh
// token is good exactly once, and presenting it a second time revokes every
// token of its login (its family). The PostgreSQL store
// (internal/pgstore) carries out the multi-row steps of these rules in single
// transactions.
package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

// User is a person who signs in. PasswordHash is the argon2id PHC string; it
// is not a secret in the sense of a token, but it never leaves the service
// and LogValue keeps it out of logs.
type User struct {
	ID           uuid.UUID
	Email        string
	Name         string
	PasswordHash string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// LogValue implements slog.LogValuer: a user is logged by id only.
func (u User) LogValue() slog.Value { return slog.StringValue(u.ID.String()) }

// NormalizeEmail is the form emails are stored and compared in.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// Membership is a user's role in an organization. OrganizationName is filled
// by the queries that join it (ListUserMemberships) and empty otherwise.
type Membership struct {
	OrganizationID   uuid.UUID
	OrganizationName string
	UserID           uuid.UUID
	Role             authv1.Role
	CreatedAt        time.Time
}

// Invitation admits Email to an organization with Role. Its token exists only
// in the answer to the call that created it; the store keeps its TokenHash.
type Invitation struct {
	ID              uuid.UUID
	OrganizationID  uuid.UUID
	Email           string
	Role            authv1.Role
	InvitedByUserID *uuid.UUID
	CreatedAt       time.Time
	ExpiresAt       time.Time
	AcceptedAt      *time.Time
	AcceptedBy      *uuid.UUID
	RevokedAt       *time.Time
}

// RefreshToken is one link of a login's token chain. Only the digest of the
// token itself is stored.
type RefreshToken struct {
	ID        uuid.UUID
	FamilyID  uuid.UUID
	UserID    uuid.UUID
	CreatedAt time.Time
	ExpiresAt time.Time
	RotatedAt *time.Time
	RevokedAt *time.Time
	ClientIP  string
	UserAgent string
}

// TokenHash is the SHA-256 digest under which invitation and refresh tokens
// are stored and looked up. The tokens are 32 random bytes, so a fast digest
// is as good as a slow KDF and allows lookup by hash.
type TokenHash [sha256.Size]byte

// HashToken digests a presented token.
func HashToken(token string) TokenHash { return sha256.Sum256([]byte(token)) }

// RoleName is the name a role is stored under: the enum name without the
// ROLE_ prefix (OWNER, ADMIN, MEMBER, VIEWER).
func RoleName(r authv1.Role) string { return strings.TrimPrefix(r.String(), "ROLE_") }

// ParseRole reads a stored role name; ok is false for anything that is not
// one of the four roles.
func ParseRole(name string) (authv1.Role, bool) {
	v, ok := authv1.Role_value["ROLE_"+name]
	if !ok || authv1.Role(v) == authv1.Role_ROLE_UNSPECIFIED {
		return authv1.Role_ROLE_UNSPECIFIED, false
	}
	return authv1.Role(v), true
}

// Prefixes of the opaque tokens, so that a leaked one is recognisable (by
// secret scanners, too) and the two kinds are never confused.
const (
	InvitationTokenPrefix = "inv-at-"
	RefreshTokenPrefix    = "rt-at-"
)

// NewInvitationToken makes an invitation token (inv-at- and 43 characters
// of base64url over 32 random bytes) and the hash to store it under.
func NewInvitationToken() (string, TokenHash, error) { return newToken(InvitationTokenPrefix) }

// newRefreshToken makes a refresh token (rt-at- and 43 characters).
func newRefreshToken() (string, TokenHash, error) { return newToken(RefreshTokenPrefix) }

func newToken(prefix string) (string, TokenHash, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", TokenHash{}, fmt.Errorf("token randomness: %w", err)
	}
	t := prefix + base64.RawURLEncoding.EncodeToString(b[:])
	return t, HashToken(t), nil
}

// Signup is what a signup created: the user, their membership, the
// organization it is in (the one a first user created, or the one the
// invitation was for) and, for an invited user, the invitation they
// accepted.
type Signup struct {
	User         User
	Membership   Membership
	Organization tenancy.Organization
	Invitation   *Invitation
}

// SignupHook runs inside a signup's transaction once its rows are written;
// what it writes through tx (the audit record) commits with them, and an
// error undoes the signup.
type SignupHook func(ctx context.Context, tx pgx.Tx, s Signup) error
