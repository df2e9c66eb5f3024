package pgstore

// Invitations admit an email address to an organization with a role:
//
//	CreateInvitation(ctx, inv identity.Invitation, hash identity.TokenHash) (identity.Invitation, error)
//	GetInvitationByTokenHash(ctx, hash identity.TokenHash) (identity.Invitation, error)
//	ListInvitations(ctx, orgID uuid.UUID) ([]identity.Invitation, error)
//	RevokeInvitation(ctx, orgID, invitationID uuid.UUID, at time.Time) (identity.Invitation, error)
//	AcceptInvitation(ctx, hash identity.TokenHash, userID uuid.UUID, email string, at time.Time) (identity.Invitation, identity.Membership, error)
//
// Make tokens with identity.NewInvitationToken; only their hash is stored.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"

	"github.com/agenttrace/agenttrace/services/auth/internal/identity"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

const invitationColumns = `id, organization_id, email, role, invited_by_user_id, created_at,
	expires_at, accepted_at, accepted_by, revoked_at`

func invitationFields(i *identity.Invitation) []any {
	return []any{&i.ID, &i.OrganizationID, &i.Email, roleColumn{&i.Role}, &i.InvitedByUserID, &i.CreatedAt,
		&i.ExpiresAt, &i.AcceptedAt, &i.AcceptedBy, &i.RevokedAt}
}

// CreateInvitation stores inv (its email lower-cased) under the token's
// hash. ErrNotFound when the organization (or the inviting user) does not
// exist.
func (s *Store) CreateInvitation(ctx context.Context, inv identity.Invitation, hash identity.TokenHash) (identity.Invitation, error) {
	role, err := roleText(inv.Role)
	if err != nil {
		return identity.Invitation{}, err
	}
	err = s.pool.QueryRow(ctx,
		`INSERT INTO invitations (id, organization_id, email, role, token_hash, invited_by_user_id, expires_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7)
		 RETURNING `+invitationColumns,
		inv.ID, inv.OrganizationID, identity.NormalizeEmail(inv.Email), role, hash[:], inv.InvitedByUserID, inv.ExpiresAt).
		Scan(invitationFields(&inv)...)
	switch {
	case isCode(err, pgerrcode.ForeignKeyViolation):
		return identity.Invitation{}, fmt.Errorf("organization or inviting user: %w", tenancy.ErrNotFound)
	case isCode(err, pgerrcode.UniqueViolation):
		return identity.Invitation{}, fmt.Errorf("invitation: %w", tenancy.ErrAlreadyExists)
	case isCode(err, pgerrcode.CheckViolation):
		return identity.Invitation{}, &tenancy.FieldError{Field: "email", Description: "must not be empty"}
	}
	return inv, wrap(err, "insert invitation")
}

// GetInvitationByTokenHash returns the invitation (in any state) with that
// token, or ErrNotFound.
func (s *Store) GetInvitationByTokenHash(ctx context.Context, hash identity.TokenHash) (identity.Invitation, error) {
	return invitationByHash(ctx, s.pool, hash, "")
}

// invitationByHash reads the invitation with the token hash; lock is
// appended to the statement ("FOR UPDATE" inside a transaction).
func invitationByHash(ctx context.Context, db identityDB, hash identity.TokenHash, lock string) (identity.Invitation, error) {
	var inv identity.Invitation
	err := db.QueryRow(ctx, `SELECT `+invitationColumns+` FROM invitations WHERE token_hash = $1 `+lock, hash[:]).
		Scan(invitationFields(&inv)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return identity.Invitation{}, fmt.Errorf("invitation: %w", tenancy.ErrNotFound)
	}
	return inv, wrap(err, "get invitation")
}

// ListInvitations returns the organization's invitations in every state,
// newest first.
func (s *Store) ListInvitations(ctx context.Context, orgID uuid.UUID) ([]identity.Invitation, error) {
	rows, err := s.pool.Query(ctx,
		`SELECT `+invitationColumns+` FROM invitations WHERE organization_id = $1
		 ORDER BY created_at DESC, id DESC`, orgID)
	if err != nil {
		return nil, wrap(err, "list invitations")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (identity.Invitation, error) {
		var inv identity.Invitation
		err := r.Scan(invitationFields(&inv)...)
		return inv, err
	})
	return out, wrap(err, "list invitations")
}

// RevokeInvitation marks an invitation of the organization revoked at at,
// keeping the first revocation time; ErrNotFound when the organization has
// no such invitation. Revoking an accepted invitation changes nothing about
// the membership it created.
func (s *Store) RevokeInvitation(ctx context.Context, orgID, invitationID uuid.UUID, at time.Time) (identity.Invitation, error) {
	var inv identity.Invitation
	err := s.pool.QueryRow(ctx,
		`UPDATE invitations SET revoked_at = COALESCE(revoked_at, $3)
		 WHERE organization_id = $1 AND id = $2
		 RETURNING `+invitationColumns, orgID, invitationID, at).Scan(invitationFields(&inv)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return identity.Invitation{}, fmt.Errorf("invitation %s: %w", invitationID, tenancy.ErrNotFound)
	}
	return inv, wrap(err, "revoke invitation")
}

// AcceptInvitation lets an existing user (userID, whose address is email)
// accept the invitation with that token: in one transaction it locks the
// invitation, checks it with identity.CheckInvitation, marks it accepted and
// creates the membership with the invitation's role. Errors: the
// identity.ErrInvitation* reasons (unknown token included), ErrAlreadyExists
// when the user is a member already (the invitation then stays open).
func (s *Store) AcceptInvitation(ctx context.Context, hash identity.TokenHash, userID uuid.UUID, email string, at time.Time) (identity.Invitation, identity.Membership, error) {
	var inv identity.Invitation
	var m identity.Membership
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		inv, m, err = acceptInvitation(ctx, tx, hash, userID, email, at)
		return err
	})
	if err != nil {
		return identity.Invitation{}, identity.Membership{}, wrap(err, "accept invitation")
	}
	return inv, m, nil
}

// acceptInvitation is AcceptInvitation inside the caller's transaction.
func acceptInvitation(ctx context.Context, tx pgx.Tx, hash identity.TokenHash, userID uuid.UUID, email string, at time.Time) (identity.Invitation, identity.Membership, error) {
	// FOR UPDATE serializes concurrent acceptances of one token: the second
	// waits, then sees accepted_at set and is refused.
	inv, err := invitationByHash(ctx, tx, hash, "FOR UPDATE")
	if errors.Is(err, tenancy.ErrNotFound) {
		return identity.Invitation{}, identity.Membership{}, identity.ErrInvitationUnknown
	}
	if err != nil {
		return identity.Invitation{}, identity.Membership{}, err
	}
	if err := identity.CheckInvitation(inv, email, at); err != nil {
		return identity.Invitation{}, identity.Membership{}, err
	}
	err = tx.QueryRow(ctx,
		`UPDATE invitations SET accepted_at = $2, accepted_by = $3 WHERE id = $1
		 RETURNING `+invitationColumns, inv.ID, at, userID).Scan(invitationFields(&inv)...)
	if err != nil {
		return identity.Invitation{}, identity.Membership{}, wrap(err, "mark invitation accepted")
	}
	m, err := insertMembership(ctx, tx, identity.Membership{OrganizationID: inv.OrganizationID, UserID: userID, Role: inv.Role})
	if err != nil {
		return identity.Invitation{}, identity.Membership{}, err
	}
	return inv, m, nil
}
