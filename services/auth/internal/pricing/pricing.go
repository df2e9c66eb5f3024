// Package pricing is the domain of the model price table: the prices the
// worker computes observation costs from when a client sent usage but no
// cost.
//
// A price names a model (model_name, for display), the models it applies
// to (match_pattern, an RE2 expression matched against the whole model name,
// case-insensitively), USD per unit for each usage type, and the time from
// which it applies. Global prices (no project) ship with the migrations and
// are read-only to users and API keys; a project may add overrides, which
// take precedence over the global prices for that project's observations.
//
// Every operation is scoped to the caller: users and keys see the global
// prices and the overrides of one project of their organization; a price of
// another organization behaves as if it did not exist (tenancy.ErrNotFound).
// Services (the worker) may read every price at once and write global ones.
// Who may call what is pkg/authz's table; this package enforces the
// ownership rules the table cannot express.
package pricing

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/agenttrace/agenttrace/services/auth/internal/audit"
)

// ErrPermissionDenied: the caller may not do this to this price (a global
// price, for anyone but a service) or in this way (all_projects, for
// anyone but a service; a project other than the one the credentials name).
var ErrPermissionDenied = errors.New("permission denied")

// Price is one row of the price table.
type Price struct {
	ID uuid.UUID
	// ProjectID is uuid.Nil for a global price.
	ProjectID uuid.UUID
	// OrganizationID owns ProjectID; uuid.Nil for a global price.
	OrganizationID uuid.UUID
	ModelName      string
	MatchPattern   string
	// Prices are USD per unit, by usage type ("input", "cached_input", ...).
	Prices        map[string]float64
	EffectiveFrom time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Global reports whether p is a global price.
func (p Price) Global() bool { return p.ProjectID == uuid.Nil }

// Store persists prices. Lookups by id see every price; the Service decides
// who may see which.
type Store interface {
	// InTx runs fn in one transaction with a Store bound to it; tx is for
	// the audit record.
	InTx(ctx context.Context, fn func(st Store, tx pgx.Tx) error) error
	// ProjectOrganization returns the organization owning a project, or
	// tenancy.ErrNotFound.
	ProjectOrganization(ctx context.Context, projectID uuid.UUID) (uuid.UUID, error)
	// ListPrices returns the global prices and, when projectID is not Nil,
	// that project's overrides, ordered by model name, scope (overrides
	// first) and effective_from (newest first).
	ListPrices(ctx context.Context, projectID uuid.UUID) ([]Price, error)
	// ListAllPrices returns every price of every scope, in the same order.
	ListAllPrices(ctx context.Context) ([]Price, error)
	// Price reads one price; lock holds the row until the transaction
	// ends. tenancy.ErrNotFound when there is none.
	Price(ctx context.Context, id uuid.UUID, lock bool) (Price, error)
	// InsertPrice stores p (with its ID set); tenancy.ErrAlreadyExists
	// when its scope already prices the model from that time,
	// tenancy.ErrNotFound when its project does not exist.
	InsertPrice(ctx context.Context, p Price) (Price, error)
	// UpdatePrice writes p's model name, pattern, prices and start time;
	// tenancy.ErrAlreadyExists as for InsertPrice.
	UpdatePrice(ctx context.Context, p Price) (Price, error)
	// DeletePrice removes a price; tenancy.ErrNotFound when there is none.
	DeletePrice(ctx context.Context, id uuid.UUID) error
}

// Auditor records an action within its transaction (audit.Recorder).
type Auditor interface {
	Record(ctx context.Context, tx pgx.Tx, e audit.Entry) (audit.Event, error)
}
