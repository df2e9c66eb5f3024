package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/agenttrace/agenttrace/services/auth/internal/apikey"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

// Store is the PostgreSQL tenancy.Store.
type Store struct {
	// pool is the pool, or the transaction of a Store made by InTx (see tx.go).
	pool conn
}

var _ tenancy.Store = (*Store)(nil)

// New returns a Store over pool.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// ensureAttempts bounds the insert-or-select loop of the Ensure methods; a
// second attempt is only needed when a concurrent insert raced ours.
const ensureAttempts = 3

// EnsureOrganization implements tenancy.Store.
func (s *Store) EnsureOrganization(ctx context.Context, o tenancy.Organization) (tenancy.Organization, error) {
	for range ensureAttempts {
		// ON CONFLICT DO NOTHING returns no row when the name exists; the
		// existing row is then read by a separate statement, because a row
		// committed concurrently is not visible to the inserting statement.
		err := s.pool.QueryRow(ctx,
			`INSERT INTO organizations (id, name) VALUES ($1, $2)
			 ON CONFLICT (name) DO NOTHING
			 RETURNING id, name, created_at`, o.ID, o.Name).Scan(&o.ID, &o.Name, &o.CreatedAt)
		if !errors.Is(err, pgx.ErrNoRows) {
			return o, wrap(err, "insert organization")
		}
		err = s.pool.QueryRow(ctx, `SELECT id, name, created_at FROM organizations WHERE name = $1`, o.Name).
			Scan(&o.ID, &o.Name, &o.CreatedAt)
		if !errors.Is(err, pgx.ErrNoRows) {
			return o, wrap(err, "select organization")
		}
	}
	return tenancy.Organization{}, fmt.Errorf("ensure organization %q: gave up after concurrent changes", o.Name)
}

// EnsureProject implements tenancy.Store.
func (s *Store) EnsureProject(ctx context.Context, p tenancy.Project) (tenancy.Project, error) {
	for range ensureAttempts {
		got, err := s.CreateProject(ctx, p)
		if !errors.Is(err, tenancy.ErrAlreadyExists) {
			return got, err
		}
		err = s.pool.QueryRow(ctx,
			`SELECT `+projectColumns+` FROM projects WHERE organization_id = $1 AND name = $2`,
			p.OrganizationID, p.Name).Scan(projectFields(&got)...)
		if !errors.Is(err, pgx.ErrNoRows) {
			return got, wrap(err, "select project")
		}
	}
	return tenancy.Project{}, fmt.Errorf("ensure project %q: gave up after concurrent changes", p.Name)
}

const projectColumns = `id, organization_id, name, created_at`

func projectFields(p *tenancy.Project) []any {
	return []any{&p.ID, &p.OrganizationID, &p.Name, &p.CreatedAt}
}

// CreateProject implements tenancy.Store.
func (s *Store) CreateProject(ctx context.Context, p tenancy.Project) (tenancy.Project, error) {
	err := s.pool.QueryRow(ctx,
		`INSERT INTO projects (id, organization_id, name) VALUES ($1, $2, $3)
		 RETURNING `+projectColumns, p.ID, p.OrganizationID, p.Name).Scan(projectFields(&p)...)
	switch {
	case isCode(err, pgerrcode.UniqueViolation):
		return tenancy.Project{}, fmt.Errorf("project %q: %w", p.Name, tenancy.ErrAlreadyExists)
	case isCode(err, pgerrcode.ForeignKeyViolation):
		return tenancy.Project{}, fmt.Errorf("organization: %w", tenancy.ErrNotFound)
	}
	return p, wrap(err, "insert project")
}

// ListProjects implements tenancy.Store.
func (s *Store) ListProjects(ctx context.Context, orgID uuid.UUID) ([]tenancy.Project, error) {
	rows, err := s.pool.Query(ctx,
		`SELECT `+projectColumns+` FROM projects WHERE organization_id = $1 ORDER BY created_at, id`, orgID)
	if err != nil {
		return nil, wrap(err, "list projects")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (tenancy.Project, error) {
		var p tenancy.Project
		err := r.Scan(projectFields(&p)...)
		return p, err
	})
	return out, wrap(err, "list projects")
}

// GetProject implements tenancy.Store.
func (s *Store) GetProject(ctx context.Context, orgID, projectID uuid.UUID) (tenancy.Project, error) {
	var p tenancy.Project
	err := s.pool.QueryRow(ctx,
		`SELECT `+projectColumns+` FROM projects WHERE organization_id = $1 AND id = $2`, orgID, projectID).
		Scan(projectFields(&p)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return tenancy.Project{}, fmt.Errorf("project %s: %w", projectID, tenancy.ErrNotFound)
	}
	return p, wrap(err, "get project")
}

// wrap adds context to a database error; nil stays nil. Errors that mean
// the database cannot be reached are marked tenancy.ErrUnavailable, so the
// caller is told to retry rather than that the server is broken.
func wrap(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case unreachable(err):
		return fmt.Errorf("%s: %w: %w", what, tenancy.ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// keyColumns reads an api_keys row joined as k with its projects row as p.
const keyColumns = `k.id, k.project_id, p.organization_id, k.public_key, k.secret_hint, k.note,
	k.created_at, k.last_used_at, k.revoked_at, array_to_string(k.scopes, ',')`

func keyFields(k *tenancy.APIKey) []any {
	return []any{&k.ID, &k.ProjectID, &k.OrganizationID, &k.PublicKey, &k.SecretHint, &k.Note,
		&k.CreatedAt, &k.LastUsedAt, &k.RevokedAt, scopesColumn{&k.Scopes}}
}

func scanKeys(rows pgx.Rows) ([]tenancy.APIKey, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (tenancy.APIKey, error) {
		var k tenancy.APIKey
		err := r.Scan(keyFields(&k)...)
		return k, err
	})
}

// CreateAPIKey implements tenancy.Store.
func (s *Store) CreateAPIKey(ctx context.Context, k tenancy.APIKey, hash apikey.Hash) (tenancy.APIKey, error) {
	err := s.pool.QueryRow(ctx,
		`INSERT INTO api_keys (id, project_id, public_key, secret_hash, secret_hint, note, scopes)
		 VALUES ($1, $2, $3, $4, $5, $6, $7)
		 RETURNING created_at`,
		k.ID, k.ProjectID, k.PublicKey, hash[:], k.SecretHint, k.Note, scopeNames(k.Scopes)).Scan(&k.CreatedAt)
	if isCode(err, pgerrcode.ForeignKeyViolation) {
		return tenancy.APIKey{}, fmt.Errorf("project %s: %w", k.ProjectID, tenancy.ErrNotFound)
	}
	return k, wrap(err, "insert api key")
}

// ListAPIKeys implements tenancy.Store.
func (s *Store) ListAPIKeys(ctx context.Context, orgID, projectID uuid.UUID) ([]tenancy.APIKey, error) {
	rows, err := s.pool.Query(ctx,
		`SELECT `+keyColumns+`
		 FROM api_keys k JOIN projects p ON p.id = k.project_id
		 WHERE p.organization_id = $1 AND k.project_id = $2
		 ORDER BY k.created_at, k.id`, orgID, projectID)
	if err != nil {
		return nil, wrap(err, "list api keys")
	}
	keys, err := scanKeys(rows)
	return keys, wrap(err, "list api keys")
}

// RevokeAPIKey implements tenancy.Store.
func (s *Store) RevokeAPIKey(ctx context.Context, orgID, keyID uuid.UUID, at time.Time) (tenancy.APIKey, error) {
	var k tenancy.APIKey
	err := s.pool.QueryRow(ctx,
		`UPDATE api_keys k SET revoked_at = COALESCE(k.revoked_at, $3)
		 FROM projects p
		 WHERE k.id = $2 AND p.id = k.project_id AND p.organization_id = $1
		 RETURNING `+keyColumns, orgID, keyID, at).Scan(keyFields(&k)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return tenancy.APIKey{}, fmt.Errorf("api key %s: %w", keyID, tenancy.ErrNotFound)
	}
	return k, wrap(err, "revoke api key")
}

// APIKeyBySecretHash implements tenancy.Store.
func (s *Store) APIKeyBySecretHash(ctx context.Context, hash apikey.Hash) (tenancy.APIKey, error) {
	var k tenancy.APIKey
	err := s.pool.QueryRow(ctx,
		`SELECT `+keyColumns+`
		 FROM api_keys k JOIN projects p ON p.id = k.project_id
		 WHERE k.secret_hash = $1`, hash[:]).Scan(keyFields(&k)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return tenancy.APIKey{}, tenancy.ErrNotFound
	}
	return k, wrap(err, "find api key")
}

// TouchAPIKeys implements tenancy.Store in one statement for the whole batch.
func (s *Store) TouchAPIKeys(ctx context.Context, uses map[uuid.UUID]time.Time) error {
	if len(uses) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, 0, len(uses))
	ats := make([]time.Time, 0, len(uses))
	for id, at := range uses {
		ids = append(ids, id)
		ats = append(ats, at)
	}
	_, err := s.pool.Exec(ctx,
		`UPDATE api_keys k SET last_used_at = u.at
		 FROM unnest($1::uuid[], $2::timestamptz[]) AS u(id, at)
		 WHERE k.id = u.id AND (k.last_used_at IS NULL OR k.last_used_at < u.at)`, ids, ats)
	return wrap(err, "touch api keys")
}

// Ping checks the database answers; it backs /ready's "postgres" check
// (the schema has a check of its own, CheckSchema).
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.pool.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping postgres: %w", err)
	}
	return nil
}
