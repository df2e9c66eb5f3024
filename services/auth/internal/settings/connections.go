package settings

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/agenttrace/agenttrace/services/auth/internal/audit"
)

// NewConnection is what CreateConnection needs.
type NewConnection struct {
	ProjectID uuid.UUID // the caller's project when Nil
	Provider  string
	Name      string
	BaseURL   string
	APIKey    string
}

// ConnectionPatch changes a connection; nil fields stay as they are.
type ConnectionPatch struct {
	Provider *string
	Name     *string
	BaseURL  *string
	APIKey   *string
}

// CreateConnection stores a new connection with its key sealed.
func (s *Service) CreateConnection(ctx context.Context, in NewConnection) (Connection, error) {
	c, err := callerOf(ctx)
	if err != nil {
		return Connection{}, err
	}
	projectID, err := c.projectOf(in.ProjectID)
	if err != nil {
		return Connection{}, err
	}
	conn := Connection{ProjectID: projectID, OrganizationID: c.org}
	if conn.Provider, err = cleanProvider(in.Provider); err != nil {
		return Connection{}, err
	}
	if conn.Name, err = cleanConnectionName(in.Name); err != nil {
		return Connection{}, err
	}
	if conn.BaseURL, err = cleanBaseURL(in.BaseURL); err != nil {
		return Connection{}, err
	}
	key, err := cleanAPIKey(in.APIKey)
	if err != nil {
		return Connection{}, err
	}
	if conn.ID, err = uuid.NewV7(); err != nil {
		return Connection{}, fmt.Errorf("connection id: %w", err)
	}
	conn.APIKeyHint = hint(key)
	sealed, err := s.sealKey(conn.ID, key)
	if err != nil {
		return Connection{}, err
	}
	var out Connection
	err = s.store.InTx(ctx, func(st Store, tx pgx.Tx) error {
		// The project lookup scopes the insert to the caller's organization.
		if _, err := st.ProjectSettings(ctx, c.org, projectID, false); err != nil {
			return err
		}
		if out, err = st.InsertConnection(ctx, conn, sealed); err != nil {
			return err
		}
		return s.record(ctx, tx, connectionEntry(audit.ActionLLMConnectionCreate, out, map[string]string{
			"provider": out.Provider, "name": out.Name, "base_url": out.BaseURL, "api_key_hint": out.APIKeyHint,
		}))
	})
	if err != nil {
		return Connection{}, err
	}
	return out, nil
}

// ListConnections lists a project's connections (hints only).
func (s *Service) ListConnections(ctx context.Context, projectID uuid.UUID) ([]Connection, error) {
	c, err := callerOf(ctx)
	if err != nil {
		return nil, err
	}
	if projectID, err = c.projectOf(projectID); err != nil {
		return nil, err
	}
	// Asking for the project first tells "no such project here" from "a
	// project without connections".
	if _, err := s.store.ProjectSettings(ctx, c.org, projectID, false); err != nil {
		return nil, err
	}
	return s.store.ListConnections(ctx, c.org, projectID)
}

// UpdateConnection changes a connection of the caller's organization; a new
// key is sealed again, bound to the connection.
func (s *Service) UpdateConnection(ctx context.Context, id uuid.UUID, p ConnectionPatch) (Connection, error) {
	c, err := callerOf(ctx)
	if err != nil {
		return Connection{}, err
	}
	if id == uuid.Nil {
		return Connection{}, invalid("id", "required")
	}
	var provider, name, baseURL, key string
	if p.Provider != nil {
		if provider, err = cleanProvider(*p.Provider); err != nil {
			return Connection{}, err
		}
	}
	if p.Name != nil {
		if name, err = cleanConnectionName(*p.Name); err != nil {
			return Connection{}, err
		}
	}
	if p.BaseURL != nil {
		if baseURL, err = cleanBaseURL(*p.BaseURL); err != nil {
			return Connection{}, err
		}
	}
	var sealed []byte
	if p.APIKey != nil {
		if key, err = cleanAPIKey(*p.APIKey); err != nil {
			return Connection{}, err
		}
		if sealed, err = s.sealKey(id, key); err != nil {
			return Connection{}, err
		}
	}
	var out Connection
	err = s.store.InTx(ctx, func(st Store, tx pgx.Tx) error {
		before, _, err := st.Connection(ctx, c.org, id, true)
		if err != nil {
			return err
		}
		next := before
		details := map[string]string{}
		if p.Provider != nil && provider != before.Provider {
			next.Provider, details["provider"], details["previous_provider"] = provider, provider, before.Provider
		}
		if p.Name != nil && name != before.Name {
			next.Name, details["name"], details["previous_name"] = name, name, before.Name
		}
		if p.BaseURL != nil && baseURL != before.BaseURL {
			next.BaseURL, details["base_url"], details["previous_base_url"] = baseURL, baseURL, before.BaseURL
		}
		if sealed != nil {
			next.APIKeyHint, details["api_key_changed"], details["api_key_hint"] = hint(key), "true", hint(key)
		}
		if out, err = st.UpdateConnection(ctx, next, sealed); err != nil {
			return err
		}
		return s.record(ctx, tx, connectionEntry(audit.ActionLLMConnectionUpdate, out, details))
	})
	if err != nil {
		return Connection{}, err
	}
	return out, nil
}

// DeleteConnection removes a connection of the caller's organization.
func (s *Service) DeleteConnection(ctx context.Context, id uuid.UUID) error {
	c, err := callerOf(ctx)
	if err != nil {
		return err
	}
	if id == uuid.Nil {
		return invalid("id", "required")
	}
	return s.store.InTx(ctx, func(st Store, tx pgx.Tx) error {
		gone, err := st.DeleteConnection(ctx, c.org, id)
		if err != nil {
			return err
		}
		return s.record(ctx, tx, connectionEntry(audit.ActionLLMConnectionDelete, gone, map[string]string{
			"provider": gone.Provider, "name": gone.Name,
		}))
	})
}

// ConnectionAPIKey decrypts the key of a connection of the caller's
// organization, for features of this service that call the provider. It
// is not exposed over any RPC.
func (s *Service) ConnectionAPIKey(ctx context.Context, id uuid.UUID) (string, error) {
	c, err := callerOf(ctx)
	if err != nil {
		return "", err
	}
	_, sealed, err := s.store.Connection(ctx, c.org, id, false)
	if err != nil {
		return "", err
	}
	plain, err := s.box.Open(sealed, apiKeyAAD(id))
	if err != nil {
		return "", fmt.Errorf("connection %s: %w", id, err)
	}
	return string(plain), nil
}

// ReencryptConnections seals again, under the current encryption key, every
// stored key sealed under a previous one, so that the previous key can be
// dropped from the configuration. A key changed concurrently is left to its
// new ciphertext. It returns how many keys it re-sealed; a key that no
// configured key opens fails the run (after the others were done).
func (s *Service) ReencryptConnections(ctx context.Context) (int, error) {
	all, err := s.store.SealedKeys(ctx)
	if err != nil {
		return 0, err
	}
	var n int
	var failed []uuid.UUID
	for _, k := range all {
		if !s.box.NeedsReencrypt(k.Ciphertext) {
			continue
		}
		plain, err := s.box.Open(k.Ciphertext, apiKeyAAD(k.ConnectionID))
		if err != nil {
			failed = append(failed, k.ConnectionID)
			continue
		}
		fresh, err := s.sealKey(k.ConnectionID, string(plain))
		if err != nil {
			return n, err
		}
		done, err := s.store.ReplaceSealedKey(ctx, k.ConnectionID, k.Ciphertext, fresh)
		if err != nil {
			return n, err
		}
		if done {
			n++
		}
	}
	if len(failed) > 0 {
		return n, fmt.Errorf("re-encrypt: %d connection keys open under no configured key (first: %s)", len(failed), failed[0])
	}
	return n, nil
}

func connectionEntry(action string, c Connection, details map[string]string) audit.Entry {
	return audit.Entry{
		OrganizationID: c.OrganizationID,
		ProjectID:      c.ProjectID,
		Action:         action,
		TargetKind:     "llm_connection",
		TargetID:       c.ID.String(),
		Details:        details,
	}
}
