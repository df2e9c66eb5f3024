package identity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/agenttrace/agenttrace/pkg/jwtkeys"
	"github.com/agenttrace/agenttrace/services/auth/internal/audit"
	"github.com/agenttrace/agenttrace/services/auth/internal/password"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

// Store is what the identity rules need of the database (pgstore.Store).
// Errors are the tenancy sentinels and the identity ones named per method.
type Store interface {
	// CountUsers returns how many users the installation has.
	CountUsers(ctx context.Context) (int64, error)
	// CreateFirstUser creates u, org and u's OWNER membership in one
	// transaction if no user exists yet, else ErrInvitationRequired.
	CreateFirstUser(ctx context.Context, u User, org tenancy.Organization, hook SignupHook) (Signup, error)
	// CreateInvitedUser creates u and accepts the invitation with that
	// token hash for it in one transaction; the ErrInvitation* reasons, or
	// ErrAlreadyExists when the email is taken.
	CreateInvitedUser(ctx context.Context, u User, hash TokenHash, at time.Time, hook SignupHook) (Signup, error)
	GetUser(ctx context.Context, id uuid.UUID) (User, error)
	GetUserByEmail(ctx context.Context, email string) (User, error)
	UpdatePasswordHash(ctx context.Context, id uuid.UUID, hash string, at time.Time) error
	ListUserMemberships(ctx context.Context, userID uuid.UUID) ([]Membership, error)

	CreateRefreshToken(ctx context.Context, t RefreshToken, hash TokenHash) (RefreshToken, error)
	// RotateRefreshToken: ErrInvalidRefreshToken, or ErrRefreshTokenReused
	// after revoking the family.
	RotateRefreshToken(ctx context.Context, presented TokenHash, next RefreshToken, nextHash TokenHash, at time.Time) (RefreshToken, error)
	RevokeRefreshTokenFamily(ctx context.Context, hash TokenHash, at time.Time) error
}

// AttemptLimiter decides whether one more attempt under key may happen now.
// ok false comes with how long to wait; err means it could not decide.
type AttemptLimiter interface {
	Allow(ctx context.Context, key string) (ok bool, retryAfter time.Duration, err error)
}

// Auditor records an action within the action's transaction
// (audit.Recorder).
type Auditor interface {
	Record(ctx context.Context, tx pgx.Tx, e audit.Entry) (audit.Event, error)
}

// Config holds the Service's dependencies.
type Config struct {
	Store  Store
	Hasher *password.Hasher
	Keys   *jwtkeys.Ring
	// AccessTTL and RefreshTTL are the lifetimes of the two tokens.
	AccessTTL  time.Duration
	RefreshTTL time.Duration
	// AccountLimiter limits logins per email address, AddressLimiter
	// logins and signups per client address. Nil means unlimited.
	AccountLimiter AttemptLimiter
	AddressLimiter AttemptLimiter
	// Audit records signups that create an organization or accept an
	// invitation. Nil records nothing (tests of other concerns).
	Audit Auditor
	// Log receives what operators need to know; never a secret.
	Log *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Service applies the identity rules. It is safe for concurrent use.
type Service struct {
	cfg Config
	log *slog.Logger
	now func() time.Time
}

// NewService checks cfg and builds a Service.
func NewService(cfg Config) (*Service, error) {
	switch {
	case cfg.Store == nil || cfg.Hasher == nil || cfg.Keys == nil:
		return nil, errors.New("identity: Store, Hasher and Keys are required")
	case cfg.AccessTTL <= 0 || cfg.RefreshTTL <= 0:
		return nil, fmt.Errorf("identity: token lifetimes must be positive (access %v, refresh %v)", cfg.AccessTTL, cfg.RefreshTTL)
	}
	s := &Service{cfg: cfg, log: cfg.Log, now: cfg.Now}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// Client is where a request comes from: it keys the per-address limit and is
// kept with the refresh token for the user's session list.
type Client struct {
	Address   string
	UserAgent string
}

// Tokens are a new access token and refresh token. Both are secrets: they
// go to the caller and nowhere else.
type Tokens struct {
	Access          string
	AccessExpiresAt time.Time
	Refresh         string
	// RefreshExpiresAt is when this refresh token (not the login) expires.
	RefreshExpiresAt time.Time
}

// Session is a signed-in user with their tokens.
type Session struct {
	User   User
	Tokens Tokens
	// Organization is the organization a signup joined the user to; zero
	// for a login, which may be into several.
	Organization tenancy.Organization
}

// CurrentUser returns the user with id and their memberships.
func (s *Service) CurrentUser(ctx context.Context, id uuid.UUID) (User, []Membership, error) {
	u, err := s.cfg.Store.GetUser(ctx, id)
	if err != nil {
		// A valid token of a deleted user: the token outlived its user.
		if errors.Is(err, tenancy.ErrNotFound) {
			return User{}, nil, ErrUserGone
		}
		return User{}, nil, err
	}
	ms, err := s.cfg.Store.ListUserMemberships(ctx, id)
	if err != nil {
		return User{}, nil, err
	}
	return u, ms, nil
}

func newID() (uuid.UUID, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.Nil, fmt.Errorf("new id: %w", err)
	}
	return id, nil
}
