package pgstore

// Organization administration: the orgs.Store over PostgreSQL. It composes
// the membership and invitation statements of memberships.go and
// invitations.go inside the transactions the orgs rules run in, and writes
// each change's audit event in the same transaction.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/services/auth/internal/audit"
	"github.com/agenttrace/agenttrace/services/auth/internal/identity"
	"github.com/agenttrace/agenttrace/services/auth/internal/orgs"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

// Auditor records an event within a transaction (audit.Recorder).
type Auditor interface {
	Record(ctx context.Context, tx pgx.Tx, e audit.Entry) (audit.Event, error)
}

// OrgStore is the PostgreSQL orgs.Store.
type OrgStore struct {
	pool  *pgxpool.Pool
	audit Auditor
}

var (
	_ orgs.Store = (*OrgStore)(nil)
	_ orgs.Tx    = (*orgTx)(nil)
)

// NewOrgStore returns an OrgStore over pool that audits through a.
func NewOrgStore(pool *pgxpool.Pool, a Auditor) *OrgStore { return &OrgStore{pool: pool, audit: a} }

// InTx implements orgs.Store.
func (s *OrgStore) InTx(ctx context.Context, fn func(orgs.Tx) error) error {
	var fnErr error
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		fnErr = fn(&orgTx{tx: tx, audit: s.audit})
		return fnErr
	})
	if fnErr != nil {
		return fnErr // fn's own errors pass through unchanged
	}
	return wrap(err, "organization transaction")
}

// MemberRole implements orgs.Store.
func (s *OrgStore) MemberRole(ctx context.Context, orgID, userID uuid.UUID) (authv1.Role, error) {
	return memberRole(ctx, s.pool, orgID, userID, "")
}

// MemberRole implements tenancy.Store.
func (s *Store) MemberRole(ctx context.Context, orgID, userID uuid.UUID) (authv1.Role, error) {
	return memberRole(ctx, s.pool, orgID, userID, "")
}

// UserOrganizations implements orgs.Store.
func (s *OrgStore) UserOrganizations(ctx context.Context, userID uuid.UUID) ([]tenancy.Organization, error) {
	rows, err := s.pool.Query(ctx,
		`SELECT o.id, o.name, o.created_at
		 FROM organizations o JOIN memberships m ON m.organization_id = o.id
		 WHERE m.user_id = $1
		 ORDER BY o.name, o.id`, userID)
	if err != nil {
		return nil, wrap(err, "list user organizations")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (tenancy.Organization, error) {
		var o tenancy.Organization
		err := r.Scan(&o.ID, &o.Name, &o.CreatedAt)
		return o, err
	})
	return out, wrap(err, "list user organizations")
}

// ListMembers implements orgs.Store.
func (s *OrgStore) ListMembers(ctx context.Context, orgID uuid.UUID) ([]orgs.Member, error) {
	return listMembers(ctx, s.pool, orgID, uuid.Nil)
}

// ListInvitations implements orgs.Store.
func (s *OrgStore) ListInvitations(ctx context.Context, orgID uuid.UUID) ([]identity.Invitation, error) {
	return (&Store{pool: s.pool}).ListInvitations(ctx, orgID)
}

// InvitationOrganization implements orgs.Store.
func (s *OrgStore) InvitationOrganization(ctx context.Context, invitationID uuid.UUID) (uuid.UUID, error) {
	var orgID uuid.UUID
	err := s.pool.QueryRow(ctx, `SELECT organization_id FROM invitations WHERE id = $1`, invitationID).Scan(&orgID)
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, fmt.Errorf("invitation %s: %w", invitationID, tenancy.ErrNotFound)
	}
	return orgID, wrap(err, "invitation organization")
}

// ProjectOrganization implements orgs.Store.
func (s *OrgStore) ProjectOrganization(ctx context.Context, projectID uuid.UUID) (uuid.UUID, error) {
	var orgID uuid.UUID
	err := s.pool.QueryRow(ctx, `SELECT organization_id FROM projects WHERE id = $1`, projectID).Scan(&orgID)
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, fmt.Errorf("project %s: %w", projectID, tenancy.ErrNotFound)
	}
	return orgID, wrap(err, "project organization")
}

// memberRole reads a membership's role; lock is appended to the statement.
func memberRole(ctx context.Context, db identityDB, orgID, userID uuid.UUID, lock string) (authv1.Role, error) {
	var role authv1.Role
	err := db.QueryRow(ctx,
		`SELECT role FROM memberships WHERE organization_id = $1 AND user_id = $2 `+lock, orgID, userID).
		Scan(roleColumn{&role})
	if errors.Is(err, pgx.ErrNoRows) {
		return authv1.Role_ROLE_UNSPECIFIED, fmt.Errorf("membership: %w", tenancy.ErrNotFound)
	}
	return role, wrap(err, "get member role")
}

// listMembers reads an organization's members with their project
// overrides; only userID's when it is not Nil.
func listMembers(ctx context.Context, db identityDB, orgID, userID uuid.UUID) ([]orgs.Member, error) {
	rows, err := db.Query(ctx,
		`SELECT u.id, u.email, u.name, u.created_at, m.organization_id, m.role, m.created_at
		 FROM memberships m JOIN users u ON u.id = m.user_id
		 WHERE m.organization_id = $1 AND ($2::uuid IS NULL OR m.user_id = $2)
		 ORDER BY m.created_at, u.id`, orgID, nullUUID(userID))
	if err != nil {
		return nil, wrap(err, "list members")
	}
	members, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (orgs.Member, error) {
		m := orgs.Member{ProjectRoles: map[uuid.UUID]authv1.Role{}}
		err := r.Scan(&m.UserID, &m.Email, &m.Name, &m.UserCreatedAt, &m.OrganizationID, roleColumn{&m.Role}, &m.JoinedAt)
		return m, err
	})
	if err != nil {
		return nil, wrap(err, "list members")
	}
	byUser := make(map[uuid.UUID]*orgs.Member, len(members))
	for i := range members {
		byUser[members[i].UserID] = &members[i]
	}
	rows, err = db.Query(ctx,
		`SELECT user_id, project_id, role FROM project_roles
		 WHERE organization_id = $1 AND ($2::uuid IS NULL OR user_id = $2)`, orgID, nullUUID(userID))
	if err != nil {
		return nil, wrap(err, "list project roles")
	}
	var uid, pid uuid.UUID
	var role authv1.Role
	_, err = pgx.ForEachRow(rows, []any{&uid, &pid, roleColumn{&role}}, func() error {
		// The foreign key to memberships means every override has its member.
		if m, ok := byUser[uid]; ok {
			m.ProjectRoles[pid] = role
		}
		return nil
	})
	return members, wrap(err, "list project roles")
}

// orgTx is the orgs.Tx of one transaction.
type orgTx struct {
	tx    pgx.Tx
	audit Auditor
}

// LockOrganization implements orgs.Tx. FOR NO KEY UPDATE conflicts with
// itself, serializing membership changes of one organization, but not with
// the key-share locks that inserting memberships and projects takes.
func (t *orgTx) LockOrganization(ctx context.Context, orgID uuid.UUID) error {
	var id uuid.UUID
	err := t.tx.QueryRow(ctx, `SELECT id FROM organizations WHERE id = $1 FOR NO KEY UPDATE`, orgID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("organization %s: %w", orgID, tenancy.ErrNotFound)
	}
	return wrap(err, "lock organization")
}

// MemberRole implements orgs.Tx.
func (t *orgTx) MemberRole(ctx context.Context, orgID, userID uuid.UUID) (authv1.Role, error) {
	return memberRole(ctx, t.tx, orgID, userID, "")
}

// CountOwners implements orgs.Tx.
func (t *orgTx) CountOwners(ctx context.Context, orgID uuid.UUID) (int, error) {
	var n int
	err := t.tx.QueryRow(ctx,
		`SELECT count(*) FROM memberships WHERE organization_id = $1 AND role = 'OWNER'`, orgID).Scan(&n)
	return n, wrap(err, "count owners")
}

// Member implements orgs.Tx.
func (t *orgTx) Member(ctx context.Context, orgID, userID uuid.UUID) (orgs.Member, error) {
	ms, err := listMembers(ctx, t.tx, orgID, userID)
	if err != nil {
		return orgs.Member{}, err
	}
	if len(ms) == 0 {
		return orgs.Member{}, fmt.Errorf("member %s: %w", userID, tenancy.ErrNotFound)
	}
	return ms[0], nil
}

// UserEmail implements orgs.Tx.
func (t *orgTx) UserEmail(ctx context.Context, userID uuid.UUID) (string, error) {
	var email string
	err := t.tx.QueryRow(ctx, `SELECT email FROM users WHERE id = $1`, userID).Scan(&email)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("user %s: %w", userID, tenancy.ErrNotFound)
	}
	return email, wrap(err, "get user email")
}

// HasMemberWithEmail implements orgs.Tx.
func (t *orgTx) HasMemberWithEmail(ctx context.Context, orgID uuid.UUID, email string) (bool, error) {
	var ok bool
	err := t.tx.QueryRow(ctx,
		`SELECT EXISTS (SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id
		                WHERE m.organization_id = $1 AND u.email = $2)`,
		orgID, identity.NormalizeEmail(email)).Scan(&ok)
	return ok, wrap(err, "find member by email")
}

// CreateOrganization implements orgs.Tx.
func (t *orgTx) CreateOrganization(ctx context.Context, org tenancy.Organization) (tenancy.Organization, error) {
	return insertOrganization(ctx, t.tx, org)
}

// AddMember implements orgs.Tx.
func (t *orgTx) AddMember(ctx context.Context, m identity.Membership) (identity.Membership, error) {
	return insertMembership(ctx, t.tx, m)
}

// SetMemberRole implements orgs.Tx.
func (t *orgTx) SetMemberRole(ctx context.Context, orgID, userID uuid.UUID, role authv1.Role) error {
	name, err := roleText(role)
	if err != nil {
		return err
	}
	tag, err := t.tx.Exec(ctx,
		`UPDATE memberships SET role = $3 WHERE organization_id = $1 AND user_id = $2`, orgID, userID, name)
	if err == nil && tag.RowsAffected() == 0 {
		return fmt.Errorf("member %s: %w", userID, tenancy.ErrNotFound)
	}
	return wrap(err, "set member role")
}

// RemoveMember implements orgs.Tx. The member's project overrides go with
// the membership (ON DELETE CASCADE).
func (t *orgTx) RemoveMember(ctx context.Context, orgID, userID uuid.UUID) error {
	tag, err := t.tx.Exec(ctx, `DELETE FROM memberships WHERE organization_id = $1 AND user_id = $2`, orgID, userID)
	if err == nil && tag.RowsAffected() == 0 {
		return fmt.Errorf("member %s: %w", userID, tenancy.ErrNotFound)
	}
	return wrap(err, "remove member")
}

// ProjectRole implements orgs.Tx.
func (t *orgTx) ProjectRole(ctx context.Context, projectID, userID uuid.UUID) (authv1.Role, error) {
	var role authv1.Role
	err := t.tx.QueryRow(ctx,
		`SELECT role FROM project_roles WHERE project_id = $1 AND user_id = $2`, projectID, userID).
		Scan(roleColumn{&role})
	if errors.Is(err, pgx.ErrNoRows) {
		return authv1.Role_ROLE_UNSPECIFIED, nil
	}
	return role, wrap(err, "get project role")
}

// SetProjectRole implements orgs.Tx.
func (t *orgTx) SetProjectRole(ctx context.Context, orgID, projectID, userID uuid.UUID, role authv1.Role) error {
	if role == authv1.Role_ROLE_UNSPECIFIED {
		_, err := t.tx.Exec(ctx, `DELETE FROM project_roles WHERE project_id = $1 AND user_id = $2`, projectID, userID)
		return wrap(err, "delete project role")
	}
	name, err := roleText(role)
	if err != nil {
		return err
	}
	// The project must be orgID's: the insert selects it from there, so a
	// project of another organization inserts nothing.
	tag, err := t.tx.Exec(ctx,
		`INSERT INTO project_roles (project_id, organization_id, user_id, role)
		 SELECT p.id, p.organization_id, $3, $4 FROM projects p WHERE p.id = $2 AND p.organization_id = $1
		 ON CONFLICT (project_id, user_id) DO UPDATE SET role = EXCLUDED.role`,
		orgID, projectID, userID, name)
	if err == nil && tag.RowsAffected() == 0 {
		return fmt.Errorf("project %s: %w", projectID, tenancy.ErrNotFound)
	}
	if isCode(err, pgerrcode.ForeignKeyViolation) { // not a member of the organization
		return fmt.Errorf("member %s: %w", userID, tenancy.ErrNotFound)
	}
	return wrap(err, "set project role")
}

// CreateInvitation implements orgs.Tx.
func (t *orgTx) CreateInvitation(ctx context.Context, inv identity.Invitation, hash identity.TokenHash) (identity.Invitation, error) {
	return (&Store{pool: t.tx}).CreateInvitation(ctx, inv, hash)
}

// LockInvitation implements orgs.Tx.
func (t *orgTx) LockInvitation(ctx context.Context, orgID, invitationID uuid.UUID) (identity.Invitation, error) {
	var inv identity.Invitation
	err := t.tx.QueryRow(ctx,
		`SELECT `+invitationColumns+` FROM invitations WHERE organization_id = $1 AND id = $2 FOR UPDATE`,
		orgID, invitationID).Scan(invitationFields(&inv)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return identity.Invitation{}, fmt.Errorf("invitation %s: %w", invitationID, tenancy.ErrNotFound)
	}
	return inv, wrap(err, "lock invitation")
}

// RevokeInvitation implements orgs.Tx.
func (t *orgTx) RevokeInvitation(ctx context.Context, orgID, invitationID uuid.UUID, at time.Time) (identity.Invitation, error) {
	return (&Store{pool: t.tx}).RevokeInvitation(ctx, orgID, invitationID, at)
}

// AcceptInvitation implements orgs.Tx.
func (t *orgTx) AcceptInvitation(ctx context.Context, hash identity.TokenHash, userID uuid.UUID, email string, at time.Time) (identity.Invitation, identity.Membership, error) {
	return acceptInvitation(ctx, t.tx, hash, userID, email, at)
}

// Record implements orgs.Tx.
func (t *orgTx) Record(ctx context.Context, e audit.Entry) error {
	_, err := t.audit.Record(ctx, t.tx, e)
	return err
}
