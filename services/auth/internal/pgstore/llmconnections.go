package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"

	"github.com/agenttrace/agenttrace/services/auth/internal/settings"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

// connectionColumns reads an llm_connections row joined as c with its
// projects row as p. The ciphertext is read only where it is needed.
const connectionColumns = `c.id, c.project_id, p.organization_id, c.provider, c.name, c.base_url,
	c.api_key_hint, c.created_at, c.updated_at`

func connectionFields(c *settings.Connection) []any {
	return []any{&c.ID, &c.ProjectID, &c.OrganizationID, &c.Provider, &c.Name, &c.BaseURL,
		&c.APIKeyHint, &c.CreatedAt, &c.UpdatedAt}
}

func connectionNameTaken(name string) error {
	return fmt.Errorf("connection %q: %w", name, tenancy.ErrAlreadyExists)
}

// InsertConnection implements settings.Store.
func (s *SettingsStore) InsertConnection(ctx context.Context, c settings.Connection, ciphertext []byte) (settings.Connection, error) {
	err := s.db.QueryRow(ctx,
		`INSERT INTO llm_connections (id, project_id, provider, name, base_url, api_key_ciphertext, api_key_hint)
		 VALUES ($1, $2, $3, $4, $5, $6, $7)
		 RETURNING created_at, updated_at`,
		c.ID, c.ProjectID, c.Provider, c.Name, c.BaseURL, ciphertext, c.APIKeyHint).Scan(&c.CreatedAt, &c.UpdatedAt)
	switch {
	case isCode(err, pgerrcode.UniqueViolation):
		return settings.Connection{}, connectionNameTaken(c.Name)
	case isCode(err, pgerrcode.ForeignKeyViolation):
		return settings.Connection{}, fmt.Errorf("project %s: %w", c.ProjectID, tenancy.ErrNotFound)
	}
	return c, wrap(err, "insert llm connection")
}

// ListConnections implements settings.Store.
func (s *SettingsStore) ListConnections(ctx context.Context, orgID, projectID uuid.UUID) ([]settings.Connection, error) {
	rows, err := s.db.Query(ctx,
		`SELECT `+connectionColumns+`
		 FROM llm_connections c JOIN projects p ON p.id = c.project_id
		 WHERE p.organization_id = $1 AND c.project_id = $2
		 ORDER BY c.name, c.id`, orgID, projectID)
	if err != nil {
		return nil, wrap(err, "list llm connections")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (settings.Connection, error) {
		var c settings.Connection
		err := r.Scan(connectionFields(&c)...)
		return c, err
	})
	return out, wrap(err, "list llm connections")
}

// Connection implements settings.Store.
func (s *SettingsStore) Connection(ctx context.Context, orgID, id uuid.UUID, lock bool) (settings.Connection, []byte, error) {
	q := `SELECT ` + connectionColumns + `, c.api_key_ciphertext
		 FROM llm_connections c JOIN projects p ON p.id = c.project_id
		 WHERE p.organization_id = $1 AND c.id = $2`
	if lock {
		q += ` FOR UPDATE OF c`
	}
	var c settings.Connection
	var sealed []byte
	err := s.db.QueryRow(ctx, q, orgID, id).Scan(append(connectionFields(&c), &sealed)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return settings.Connection{}, nil, fmt.Errorf("llm connection %s: %w", id, tenancy.ErrNotFound)
	}
	return c, sealed, wrap(err, "get llm connection")
}

// UpdateConnection implements settings.Store.
func (s *SettingsStore) UpdateConnection(ctx context.Context, c settings.Connection, ciphertext []byte) (settings.Connection, error) {
	err := s.db.QueryRow(ctx,
		`UPDATE llm_connections c
		 SET provider = $3, name = $4, base_url = $5,
			api_key_ciphertext = COALESCE($6, c.api_key_ciphertext), api_key_hint = $7, updated_at = now()
		 FROM projects p
		 WHERE c.id = $2 AND p.id = c.project_id AND p.organization_id = $1
		 RETURNING `+connectionColumns,
		c.OrganizationID, c.ID, c.Provider, c.Name, c.BaseURL, ciphertext, c.APIKeyHint).Scan(connectionFields(&c)...)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return settings.Connection{}, fmt.Errorf("llm connection %s: %w", c.ID, tenancy.ErrNotFound)
	case isCode(err, pgerrcode.UniqueViolation):
		return settings.Connection{}, connectionNameTaken(c.Name)
	}
	return c, wrap(err, "update llm connection")
}

// DeleteConnection implements settings.Store.
func (s *SettingsStore) DeleteConnection(ctx context.Context, orgID, id uuid.UUID) (settings.Connection, error) {
	var c settings.Connection
	err := s.db.QueryRow(ctx,
		`DELETE FROM llm_connections c USING projects p
		 WHERE c.id = $2 AND p.id = c.project_id AND p.organization_id = $1
		 RETURNING `+connectionColumns, orgID, id).Scan(connectionFields(&c)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return settings.Connection{}, fmt.Errorf("llm connection %s: %w", id, tenancy.ErrNotFound)
	}
	return c, wrap(err, "delete llm connection")
}

// SealedKeys implements settings.Store.
func (s *SettingsStore) SealedKeys(ctx context.Context) ([]settings.SealedKey, error) {
	rows, err := s.db.Query(ctx, `SELECT id, api_key_ciphertext FROM llm_connections ORDER BY id`)
	if err != nil {
		return nil, wrap(err, "list sealed keys")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (settings.SealedKey, error) {
		var k settings.SealedKey
		err := r.Scan(&k.ConnectionID, &k.Ciphertext)
		return k, err
	})
	return out, wrap(err, "list sealed keys")
}

// ReplaceSealedKey implements settings.Store. The hint stays: the key is
// the same, only its encryption changes.
func (s *SettingsStore) ReplaceSealedKey(ctx context.Context, id uuid.UUID, old, new []byte) (bool, error) {
	tag, err := s.db.Exec(ctx,
		`UPDATE llm_connections SET api_key_ciphertext = $3 WHERE id = $1 AND api_key_ciphertext = $2`, id, old, new)
	if err != nil {
		return false, wrap(err, "replace sealed key")
	}
	return tag.RowsAffected() == 1, nil
}
