package pgstore

// Users and the two ways a user comes to be:
//
//	CreateUser(ctx, u identity.User) (identity.User, error)
//	CreateFirstUser(ctx, u identity.User, org tenancy.Organization, hook identity.SignupHook) (identity.Signup, error)
//	CreateInvitedUser(ctx, u identity.User, hash identity.TokenHash, at time.Time, hook identity.SignupHook) (identity.Signup, error)
//	GetUser(ctx, id uuid.UUID) (identity.User, error)
//	GetUserByEmail(ctx, email string) (identity.User, error)
//	CountUsers(ctx) (int64, error)
//	UpdatePasswordHash(ctx, id uuid.UUID, hash string, at time.Time) error

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/services/auth/internal/identity"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

const userColumns = `id, email, name, password_hash, created_at, updated_at`

func userFields(u *identity.User) []any {
	return []any{&u.ID, &u.Email, &u.Name, &u.PasswordHash, &u.CreatedAt, &u.UpdatedAt}
}

// ErrEmailTaken wraps tenancy.ErrAlreadyExists for a signup whose email
// belongs to a user already.
var ErrEmailTaken = fmt.Errorf("a user with this email exists: %w", tenancy.ErrAlreadyExists)

// CreateUser inserts u with its email lower-cased; ErrEmailTaken when the
// address is in use.
func (s *Store) CreateUser(ctx context.Context, u identity.User) (identity.User, error) {
	return insertUser(ctx, s.pool, u)
}

func insertUser(ctx context.Context, db identityDB, u identity.User) (identity.User, error) {
	err := db.QueryRow(ctx,
		`INSERT INTO users (id, email, name, password_hash) VALUES ($1, $2, $3, $4)
		 RETURNING `+userColumns,
		u.ID, identity.NormalizeEmail(u.Email), u.Name, u.PasswordHash).Scan(userFields(&u)...)
	switch {
	case isCode(err, pgerrcode.UniqueViolation):
		return identity.User{}, ErrEmailTaken
	case isCode(err, pgerrcode.CheckViolation):
		return identity.User{}, &tenancy.FieldError{Field: "email", Description: "must not be empty"}
	}
	return u, wrap(err, "insert user")
}

// firstUserLock makes the check "no user exists yet" and the insert of the
// first user one atomic step. EXCLUSIVE mode conflicts with the ROW
// EXCLUSIVE lock every INSERT takes, so a concurrent signup waits until we
// commit and then counts our user; plain reads of users go on meanwhile.
const firstUserLock = `LOCK TABLE users IN EXCLUSIVE MODE`

// CreateFirstUser creates the installation's first user, the organization
// org and the user's OWNER membership, in one transaction, if and only if
// there is no user yet: otherwise identity.ErrInvitationRequired. Two
// concurrent calls create exactly one user and one organization.
// ErrAlreadyExists when the organization name is taken (an organization made
// by `agenttrace-auth bootstrap` may predate every user). hook, when not
// nil, runs last inside the transaction (to write the audit record).
func (s *Store) CreateFirstUser(ctx context.Context, u identity.User, org tenancy.Organization, hook identity.SignupHook) (identity.Signup, error) {
	// Cheap refusal without the table lock for the common case, an
	// installation that has users.
	if n, err := s.CountUsers(ctx); err != nil {
		return identity.Signup{}, err
	} else if n > 0 {
		return identity.Signup{}, identity.ErrInvitationRequired
	}
	var out identity.Signup
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, firstUserLock); err != nil {
			return wrap(err, "lock users")
		}
		// Read committed: this statement's snapshot is taken after the
		// lock was granted, so it sees a user committed by a racing call.
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users)`).Scan(&exists); err != nil {
			return wrap(err, "count users")
		}
		if exists {
			return identity.ErrInvitationRequired
		}
		var err error
		if u, err = insertUser(ctx, tx, u); err != nil {
			return err
		}
		if org, err = insertOrganization(ctx, tx, org); err != nil {
			return err
		}
		m, err := insertMembership(ctx, tx, identity.Membership{OrganizationID: org.ID, UserID: u.ID, Role: authv1.Role_ROLE_OWNER})
		if err != nil {
			return err
		}
		out = identity.Signup{User: u, Membership: m, Organization: org}
		return runHook(ctx, tx, hook, out)
	})
	if err != nil {
		return identity.Signup{}, wrap(err, "create first user")
	}
	return out, nil
}

func runHook(ctx context.Context, tx pgx.Tx, hook identity.SignupHook, s identity.Signup) error {
	if hook == nil {
		return nil
	}
	return hook(ctx, tx, s)
}

// CreateInvitedUser creates u and accepts the invitation with that token
// for it, in one transaction: either the user exists afterwards with the
// invitation's membership, or nothing changed. The invitation is checked
// (identity.CheckInvitation) against u.Email before the user is inserted, so
// an unusable invitation is reported as such even when the email is taken.
// hook, when not nil, runs last inside the transaction.
func (s *Store) CreateInvitedUser(ctx context.Context, u identity.User, hash identity.TokenHash, at time.Time, hook identity.SignupHook) (identity.Signup, error) {
	var out identity.Signup
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		locked, err := invitationByHash(ctx, tx, hash, "FOR UPDATE")
		switch {
		case errors.Is(err, tenancy.ErrNotFound):
			return identity.ErrInvitationUnknown
		case err != nil:
			return err
		}
		if err := identity.CheckInvitation(locked, u.Email, at); err != nil {
			return err
		}
		if u, err = insertUser(ctx, tx, u); err != nil {
			return err
		}
		inv, m, err := acceptInvitation(ctx, tx, hash, u.ID, u.Email, at)
		if err != nil {
			return err
		}
		org, err := getOrganization(ctx, tx, m.OrganizationID)
		if err != nil {
			return err
		}
		out = identity.Signup{User: u, Membership: m, Organization: org, Invitation: &inv}
		return runHook(ctx, tx, hook, out)
	})
	if err != nil {
		return identity.Signup{}, wrap(err, "create invited user")
	}
	return out, nil
}

// GetUser returns the user with id, or ErrNotFound.
func (s *Store) GetUser(ctx context.Context, id uuid.UUID) (identity.User, error) {
	var u identity.User
	err := s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id).Scan(userFields(&u)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return identity.User{}, fmt.Errorf("user %s: %w", id, tenancy.ErrNotFound)
	}
	return u, wrap(err, "get user")
}

// GetUserByEmail returns the user with that address (compared
// case-insensitively), or ErrNotFound.
func (s *Store) GetUserByEmail(ctx context.Context, email string) (identity.User, error) {
	var u identity.User
	err := s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE email = $1`, identity.NormalizeEmail(email)).
		Scan(userFields(&u)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return identity.User{}, fmt.Errorf("user: %w", tenancy.ErrNotFound)
	}
	return u, wrap(err, "get user by email")
}

// CountUsers returns how many users the installation has.
func (s *Store) CountUsers(ctx context.Context) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&n)
	return n, wrap(err, "count users")
}

// UpdatePasswordHash replaces a user's password hash (after a password
// change, or to upgrade its parameters at login); ErrNotFound when the user
// does not exist.
func (s *Store) UpdatePasswordHash(ctx context.Context, id uuid.UUID, hash string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1`, id, hash, at)
	if err != nil {
		return wrap(err, "update password hash")
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("user %s: %w", id, tenancy.ErrNotFound)
	}
	return nil
}
