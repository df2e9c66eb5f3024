package pgstore

// Rotating refresh tokens (see identity for the rules):
//
//	CreateRefreshToken(ctx, t identity.RefreshToken, hash identity.TokenHash) (identity.RefreshToken, error)
//	RotateRefreshToken(ctx, presented identity.TokenHash, next identity.RefreshToken, nextHash identity.TokenHash, at time.Time) (identity.RefreshToken, error)
//	RevokeRefreshTokenFamily(ctx, hash identity.TokenHash, at time.Time) error

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"

	"github.com/agenttrace/agenttrace/services/auth/internal/identity"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

const refreshTokenColumns = `id, family_id, user_id, created_at, expires_at, rotated_at, revoked_at, client_ip, user_agent`

func refreshTokenFields(t *identity.RefreshToken) []any {
	return []any{&t.ID, &t.FamilyID, &t.UserID, &t.CreatedAt, &t.ExpiresAt, &t.RotatedAt, &t.RevokedAt, &t.ClientIP, &t.UserAgent}
}

// CreateRefreshToken stores the first token of a new family (t.FamilyID)
// under its hash. ErrNotFound when the user does not exist.
func (s *Store) CreateRefreshToken(ctx context.Context, t identity.RefreshToken, hash identity.TokenHash) (identity.RefreshToken, error) {
	return insertRefreshToken(ctx, s.pool, t, hash)
}

func insertRefreshToken(ctx context.Context, db identityDB, t identity.RefreshToken, hash identity.TokenHash) (identity.RefreshToken, error) {
	err := db.QueryRow(ctx,
		`INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, expires_at, client_ip, user_agent)
		 VALUES ($1, $2, $3, $4, $5, $6, $7)
		 RETURNING `+refreshTokenColumns,
		t.ID, t.FamilyID, t.UserID, hash[:], t.ExpiresAt, t.ClientIP, t.UserAgent).Scan(refreshTokenFields(&t)...)
	switch {
	case isCode(err, pgerrcode.ForeignKeyViolation):
		return identity.RefreshToken{}, fmt.Errorf("user %s: %w", t.UserID, tenancy.ErrNotFound)
	case isCode(err, pgerrcode.UniqueViolation):
		return identity.RefreshToken{}, fmt.Errorf("refresh token: %w", tenancy.ErrAlreadyExists)
	}
	return t, wrap(err, "insert refresh token")
}

// RotateRefreshToken exchanges the presented token for next (stored under
// nextHash, in the presented token's family and for its user; next.ID,
// ExpiresAt, ClientIP and UserAgent are the caller's). In one transaction
// that locks the presented token:
//
//   - unknown, revoked or expired: identity.ErrInvalidRefreshToken;
//   - already rotated: the whole family is revoked (committed) and the
//     error is identity.ErrRefreshTokenReused;
//   - otherwise it is marked rotated and next is inserted.
//
// Two concurrent rotations of one token are serialized by the lock: the
// second sees the first's rotation and revokes the family. That is strict
// on purpose: a client that retries a refresh must use the answer of the
// first.
func (s *Store) RotateRefreshToken(ctx context.Context, presented identity.TokenHash, next identity.RefreshToken, nextHash identity.TokenHash, at time.Time) (identity.RefreshToken, error) {
	var reused *identity.RefreshToken
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var cur identity.RefreshToken
		err := tx.QueryRow(ctx,
			`SELECT `+refreshTokenColumns+` FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE`, presented[:]).
			Scan(refreshTokenFields(&cur)...)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return identity.ErrInvalidRefreshToken
		case err != nil:
			return wrap(err, "find refresh token")
		case cur.RevokedAt != nil:
			return identity.ErrInvalidRefreshToken
		case cur.RotatedAt != nil:
			// Commit the revocation, then report the reuse.
			reused = &cur
			return revokeFamily(ctx, tx, cur, at)
		case !at.Before(cur.ExpiresAt):
			return identity.ErrInvalidRefreshToken
		}
		if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET rotated_at = $2 WHERE id = $1`, cur.ID, at); err != nil {
			return wrap(err, "mark refresh token rotated")
		}
		next.FamilyID, next.UserID = cur.FamilyID, cur.UserID
		next, err = insertRefreshToken(ctx, tx, next, nextHash)
		return err
	})
	switch {
	case err != nil:
		return identity.RefreshToken{}, wrap(err, "rotate refresh token")
	case reused != nil:
		return identity.RefreshToken{}, fmt.Errorf("family %s of user %s: %w", reused.FamilyID, reused.UserID, identity.ErrRefreshTokenReused)
	}
	return next, nil
}

func revokeFamily(ctx context.Context, db identityDB, t identity.RefreshToken, at time.Time) error {
	_, err := db.Exec(ctx,
		`UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL`, t.FamilyID, at)
	return wrap(err, "revoke refresh token family")
}

// RevokeRefreshTokenFamily revokes every token of the presented token's
// family (a logout). It is idempotent, and an unknown token is not an error:
// logging out twice, or with a token that was never valid, leaves nothing to
// revoke.
func (s *Store) RevokeRefreshTokenFamily(ctx context.Context, hash identity.TokenHash, at time.Time) error {
	_, err := s.pool.Exec(ctx,
		`UPDATE refresh_tokens SET revoked_at = $2
		 WHERE family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = $1) AND revoked_at IS NULL`,
		hash[:], at)
	return wrap(err, "revoke refresh token family")
}
