package pgstore

// Memberships: a user's role in an organization and its effective value in
// a project. The functions here are the ones the identity domain and the
// authentication path need:
//
//	CreateMembership(ctx, m identity.Membership) (identity.Membership, error)
//	CreateOrganizationWithOwner(ctx, org tenancy.Organization, ownerID uuid.UUID) (tenancy.Organization, identity.Membership, error)
//	GetMembership(ctx, orgID, userID uuid.UUID) (identity.Membership, error)
//	ListUserMemberships(ctx, userID uuid.UUID) ([]identity.Membership, error)
//	EffectiveProjectRole(ctx, userID, projectID uuid.UUID) (orgID uuid.UUID, role authv1.Role, err error)
//
// Errors: tenancy.ErrNotFound, tenancy.ErrAlreadyExists,
// tenancy.ErrInvalidArgument and tenancy.ErrUnavailable (wrapped).

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/services/auth/internal/identity"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

// identityDB is a pool or a transaction: the identity statements run on
// either, so that the multi-step rules can compose them in one transaction.
type identityDB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// roleText is the stored name of a role; an unspecified or unknown role is
// refused before it reaches the database's CHECK constraint.
func roleText(r authv1.Role) (string, error) {
	if _, ok := identity.ParseRole(identity.RoleName(r)); !ok {
		return "", &tenancy.FieldError{Field: "role", Description: "must be OWNER, ADMIN, MEMBER or VIEWER"}
	}
	return identity.RoleName(r), nil
}

// roleColumn scans a role column into an authv1.Role.
type roleColumn struct{ dst *authv1.Role }

// Scan implements sql.Scanner; pgx hands it a text column as a string.
func (c roleColumn) Scan(src any) error {
	s, ok := src.(string)
	if !ok {
		return fmt.Errorf("role column: unexpected %T", src)
	}
	r, ok := identity.ParseRole(s)
	if !ok {
		return fmt.Errorf("role column: unknown role %q", s)
	}
	*c.dst = r
	return nil
}

func membershipFields(m *identity.Membership) []any {
	return []any{&m.OrganizationID, &m.OrganizationName, &m.UserID, roleColumn{&m.Role}, &m.CreatedAt}
}

const membershipColumns = `m.organization_id, o.name, m.user_id, m.role, m.created_at`

// CreateMembership makes m.UserID a member of m.OrganizationID with m.Role.
// ErrAlreadyExists when the user is a member already (whatever the role);
// ErrNotFound when the organization or the user does not exist. The returned
// membership carries the organization's name.
func (s *Store) CreateMembership(ctx context.Context, m identity.Membership) (identity.Membership, error) {
	return insertMembership(ctx, s.pool, m)
}

func insertMembership(ctx context.Context, db identityDB, m identity.Membership) (identity.Membership, error) {
	role, err := roleText(m.Role)
	if err != nil {
		return identity.Membership{}, err
	}
	err = db.QueryRow(ctx,
		`WITH m AS (
		   INSERT INTO memberships (organization_id, user_id, role) VALUES ($1, $2, $3)
		   RETURNING organization_id, user_id, role, created_at)
		 SELECT `+membershipColumns+` FROM m JOIN organizations o ON o.id = m.organization_id`,
		m.OrganizationID, m.UserID, role).Scan(membershipFields(&m)...)
	switch {
	case isCode(err, pgerrcode.UniqueViolation):
		return identity.Membership{}, fmt.Errorf("membership of user %s in organization %s: %w", m.UserID, m.OrganizationID, tenancy.ErrAlreadyExists)
	case isCode(err, pgerrcode.ForeignKeyViolation):
		return identity.Membership{}, fmt.Errorf("organization or user: %w", tenancy.ErrNotFound)
	}
	return m, wrap(err, "insert membership")
}

// CreateOrganizationWithOwner creates org and makes ownerID its OWNER, in
// one transaction. ErrAlreadyExists when the name is taken, ErrNotFound when
// the user does not exist.
func (s *Store) CreateOrganizationWithOwner(ctx context.Context, org tenancy.Organization, ownerID uuid.UUID) (tenancy.Organization, identity.Membership, error) {
	var m identity.Membership
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		if org, err = insertOrganization(ctx, tx, org); err != nil {
			return err
		}
		m, err = insertMembership(ctx, tx, identity.Membership{OrganizationID: org.ID, UserID: ownerID, Role: authv1.Role_ROLE_OWNER})
		return err
	})
	if err != nil {
		return tenancy.Organization{}, identity.Membership{}, wrap(err, "create organization with owner")
	}
	return org, m, nil
}

func insertOrganization(ctx context.Context, db identityDB, o tenancy.Organization) (tenancy.Organization, error) {
	err := db.QueryRow(ctx,
		`INSERT INTO organizations (id, name) VALUES ($1, $2) RETURNING id, name, created_at`, o.ID, o.Name).
		Scan(&o.ID, &o.Name, &o.CreatedAt)
	if isCode(err, pgerrcode.UniqueViolation) {
		return tenancy.Organization{}, fmt.Errorf("organization %q: %w", o.Name, tenancy.ErrAlreadyExists)
	}
	return o, wrap(err, "insert organization")
}

// getOrganization returns the organization with id, or ErrNotFound.
func getOrganization(ctx context.Context, db identityDB, id uuid.UUID) (tenancy.Organization, error) {
	o := tenancy.Organization{}
	err := db.QueryRow(ctx, `SELECT id, name, created_at FROM organizations WHERE id = $1`, id).Scan(&o.ID, &o.Name, &o.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return tenancy.Organization{}, fmt.Errorf("organization %s: %w", id, tenancy.ErrNotFound)
	}
	return o, wrap(err, "get organization")
}

// GetMembership returns the user's membership in the organization, or
// ErrNotFound.
func (s *Store) GetMembership(ctx context.Context, orgID, userID uuid.UUID) (identity.Membership, error) {
	var m identity.Membership
	err := s.pool.QueryRow(ctx,
		`SELECT `+membershipColumns+`
		 FROM memberships m JOIN organizations o ON o.id = m.organization_id
		 WHERE m.organization_id = $1 AND m.user_id = $2`, orgID, userID).Scan(membershipFields(&m)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return identity.Membership{}, fmt.Errorf("membership: %w", tenancy.ErrNotFound)
	}
	return m, wrap(err, "get membership")
}

// ListUserMemberships returns every organization the user belongs to, with
// the organization's name, ordered by name.
func (s *Store) ListUserMemberships(ctx context.Context, userID uuid.UUID) ([]identity.Membership, error) {
	rows, err := s.pool.Query(ctx,
		`SELECT `+membershipColumns+`
		 FROM memberships m JOIN organizations o ON o.id = m.organization_id
		 WHERE m.user_id = $1
		 ORDER BY o.name, o.id`, userID)
	if err != nil {
		return nil, wrap(err, "list memberships")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (identity.Membership, error) {
		var m identity.Membership
		err := r.Scan(membershipFields(&m)...)
		return m, err
	})
	return out, wrap(err, "list memberships")
}

// EffectiveProjectRole returns the organization of the project and the
// user's role in it: the project's override when there is one, else the
// user's organization role. ErrNotFound when the project does not exist or
// the user is not a member of its organization (deliberately the same).
func (s *Store) EffectiveProjectRole(ctx context.Context, userID, projectID uuid.UUID) (orgID uuid.UUID, role authv1.Role, err error) {
	err = s.pool.QueryRow(ctx,
		`SELECT p.organization_id, COALESCE(pr.role, m.role)
		 FROM projects p
		 JOIN memberships m ON m.organization_id = p.organization_id AND m.user_id = $1
		 LEFT JOIN project_roles pr ON pr.project_id = p.id AND pr.user_id = $1
		 WHERE p.id = $2`, userID, projectID).Scan(&orgID, roleColumn{&role})
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, authv1.Role_ROLE_UNSPECIFIED, fmt.Errorf("project %s: %w", projectID, tenancy.ErrNotFound)
	}
	if err != nil {
		return uuid.Nil, authv1.Role_ROLE_UNSPECIFIED, wrap(err, "effective project role")
	}
	return orgID, role, nil
}
