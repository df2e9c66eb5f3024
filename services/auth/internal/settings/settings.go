// Package settings is the domain of per-project settings: data retention and
// the LLM connections the platform calls on a project's behalf.
//
// A connection's API key is sealed with the installation's encryption key
// (pkg/secretbox), bound to the connection's id, and never leaves this
// package in the clear except through ConnectionAPIKey, for features of
// this service that call the provider; responses, audit records, errors and
// logs carry only its hint.
//
// Every operation is scoped to the caller's organization: a project or
// connection of another organization behaves as if it did not exist
// (tenancy.ErrNotFound). Who may call what is pkg/authz's table; this
// package only refuses service-only operations to everyone else.
package settings

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/agenttrace/agenttrace/services/auth/internal/audit"
)

// MaxRetentionDays bounds a project's retention period (ten years).
const MaxRetentionDays = 3650

// ProjectSettings are a project's settings.
type ProjectSettings struct {
	ProjectID      uuid.UUID
	OrganizationID uuid.UUID
	// RetentionDays is how long traces are kept; 0 keeps them for ever.
	RetentionDays int
}

// Connection is an LLM connection as shown: never its key, only a hint.
type Connection struct {
	ID             uuid.UUID
	ProjectID      uuid.UUID
	OrganizationID uuid.UUID
	Provider       string
	Name           string
	BaseURL        string
	APIKeyHint     string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// SealedKey is a connection's stored key ciphertext.
type SealedKey struct {
	ConnectionID uuid.UUID
	Ciphertext   []byte
}

// Store persists settings. Methods taking an organization id see only
// that organization's rows and return tenancy.ErrNotFound for others.
type Store interface {
	// InTx runs fn in one transaction with a Store bound to it; tx is for
	// the audit record.
	InTx(ctx context.Context, fn func(st Store, tx pgx.Tx) error) error

	// ProjectSettings reads a project's settings; lock holds the row until
	// the transaction ends.
	ProjectSettings(ctx context.Context, orgID, projectID uuid.UUID, lock bool) (ProjectSettings, error)
	// SetRetentionDays changes a project's retention period.
	SetRetentionDays(ctx context.Context, orgID, projectID uuid.UUID, days int) (ProjectSettings, error)
	// RetentionPolicies lists every project with a retention period.
	RetentionPolicies(ctx context.Context) ([]ProjectSettings, error)

	// InsertConnection stores c (which names an existing project) with its
	// sealed key; tenancy.ErrAlreadyExists when the name is taken.
	InsertConnection(ctx context.Context, c Connection, ciphertext []byte) (Connection, error)
	// ListConnections returns a project's connections, by name.
	ListConnections(ctx context.Context, orgID, projectID uuid.UUID) ([]Connection, error)
	// Connection reads one connection and its sealed key; lock holds the
	// row until the transaction ends.
	Connection(ctx context.Context, orgID, id uuid.UUID, lock bool) (Connection, []byte, error)
	// UpdateConnection writes c's provider, name and base URL, and the
	// sealed key when ciphertext is not nil; tenancy.ErrAlreadyExists when
	// the new name is taken.
	UpdateConnection(ctx context.Context, c Connection, ciphertext []byte) (Connection, error)
	// DeleteConnection removes a connection and returns it.
	DeleteConnection(ctx context.Context, orgID, id uuid.UUID) (Connection, error)

	// SealedKeys lists every connection's sealed key (all organizations),
	// for re-encryption after a key rotation.
	SealedKeys(ctx context.Context) ([]SealedKey, error)
	// ReplaceSealedKey swaps a connection's ciphertext from old to new and
	// reports whether it did: false when the row is gone or its key was
	// changed meanwhile.
	ReplaceSealedKey(ctx context.Context, id uuid.UUID, old, new []byte) (bool, error)
}

// Auditor records an action within its transaction (audit.Recorder).
type Auditor interface {
	Record(ctx context.Context, tx pgx.Tx, e audit.Entry) (audit.Event, error)
}

// Sealer encrypts and decrypts keys (secretbox.Box).
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(ciphertext, aad []byte) ([]byte, error)
	NeedsReencrypt(ciphertext []byte) bool
}

// apiKeyAAD binds a sealed key to its connection: a ciphertext copied to
// another row does not open there.
func apiKeyAAD(connectionID uuid.UUID) []byte {
	return []byte("llm_connection:" + connectionID.String() + ":api_key")
}
