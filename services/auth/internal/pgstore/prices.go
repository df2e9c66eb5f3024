package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/agenttrace/agenttrace/services/auth/internal/pricing"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

// PriceStore is the PostgreSQL pricing.Store.
type PriceStore struct {
	db conn
}

var _ pricing.Store = (*PriceStore)(nil)

// NewPriceStore returns a PriceStore over pool.
func NewPriceStore(pool *pgxpool.Pool) *PriceStore { return &PriceStore{db: pool} }

// priceColumns reads a model_prices row joined as m with its (optional)
// projects row as p.
const priceColumns = `m.id, m.project_id, p.organization_id, m.model_name, m.match_pattern, m.prices,
	m.effective_from, m.created_at, m.updated_at`

// priceOrder lists a model's prices together, overrides before global
// prices, newest first.
const priceOrder = ` ORDER BY m.model_name, m.project_id NULLS LAST, m.effective_from DESC, m.id`

// priceRow receives one row; project and organization are NULL for a
// global price.
type priceRow struct {
	p              pricing.Price
	project, orgID *uuid.UUID
}

func (r *priceRow) fields() []any {
	return []any{&r.p.ID, &r.project, &r.orgID, &r.p.ModelName, &r.p.MatchPattern, &r.p.Prices,
		&r.p.EffectiveFrom, &r.p.CreatedAt, &r.p.UpdatedAt}
}

func (r *priceRow) price() pricing.Price {
	p := r.p
	if r.project != nil {
		p.ProjectID = *r.project
	}
	if r.orgID != nil {
		p.OrganizationID = *r.orgID
	}
	p.EffectiveFrom = p.EffectiveFrom.UTC()
	p.CreatedAt = p.CreatedAt.UTC()
	p.UpdatedAt = p.UpdatedAt.UTC()
	return p
}

func scanPrices(rows pgx.Rows) ([]pricing.Price, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (pricing.Price, error) {
		var pr priceRow
		err := r.Scan(pr.fields()...)
		return pr.price(), err
	})
}

func priceTaken(p pricing.Price) error {
	return fmt.Errorf("a price of %q from %s already exists in this scope: %w",
		p.ModelName, p.EffectiveFrom.Format("2006-01-02T15:04:05Z07:00"), tenancy.ErrAlreadyExists)
}

func priceNotFound(id uuid.UUID) error {
	return fmt.Errorf("model price %s: %w", id, tenancy.ErrNotFound)
}

// InTx implements pricing.Store.
func (s *PriceStore) InTx(ctx context.Context, fn func(st pricing.Store, tx pgx.Tx) error) error {
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		return fn(&PriceStore{db: tx}, tx)
	})
	if err != nil && unreachable(err) && !errors.Is(err, tenancy.ErrUnavailable) {
		return wrap(err, "transaction")
	}
	return err
}

// ProjectOrganization implements pricing.Store.
func (s *PriceStore) ProjectOrganization(ctx context.Context, projectID uuid.UUID) (uuid.UUID, error) {
	var org uuid.UUID
	err := s.db.QueryRow(ctx, `SELECT organization_id FROM projects WHERE id = $1`, projectID).Scan(&org)
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, fmt.Errorf("project %s: %w", projectID, tenancy.ErrNotFound)
	}
	return org, wrap(err, "find project")
}

// ListPrices implements pricing.Store.
func (s *PriceStore) ListPrices(ctx context.Context, projectID uuid.UUID) ([]pricing.Price, error) {
	rows, err := s.db.Query(ctx,
		`SELECT `+priceColumns+`
		 FROM model_prices m LEFT JOIN projects p ON p.id = m.project_id
		 WHERE m.project_id IS NULL OR m.project_id = $1`+priceOrder, nullUUID(projectID))
	if err != nil {
		return nil, wrap(err, "list model prices")
	}
	out, err := scanPrices(rows)
	return out, wrap(err, "list model prices")
}

// ListAllPrices implements pricing.Store.
func (s *PriceStore) ListAllPrices(ctx context.Context) ([]pricing.Price, error) {
	rows, err := s.db.Query(ctx,
		`SELECT `+priceColumns+` FROM model_prices m LEFT JOIN projects p ON p.id = m.project_id`+priceOrder)
	if err != nil {
		return nil, wrap(err, "list all model prices")
	}
	out, err := scanPrices(rows)
	return out, wrap(err, "list all model prices")
}

// Price implements pricing.Store.
func (s *PriceStore) Price(ctx context.Context, id uuid.UUID, lock bool) (pricing.Price, error) {
	q := `SELECT ` + priceColumns + ` FROM model_prices m LEFT JOIN projects p ON p.id = m.project_id WHERE m.id = $1`
	if lock {
		q += ` FOR UPDATE OF m`
	}
	var pr priceRow
	err := s.db.QueryRow(ctx, q, id).Scan(pr.fields()...)
	if errors.Is(err, pgx.ErrNoRows) {
		return pricing.Price{}, priceNotFound(id)
	}
	return pr.price(), wrap(err, "get model price")
}

// InsertPrice implements pricing.Store.
func (s *PriceStore) InsertPrice(ctx context.Context, p pricing.Price) (pricing.Price, error) {
	err := s.db.QueryRow(ctx,
		`INSERT INTO model_prices (id, project_id, model_name, match_pattern, prices, effective_from)
		 VALUES ($1, $2, $3, $4, $5, $6)
		 RETURNING effective_from, created_at, updated_at`,
		p.ID, nullUUID(p.ProjectID), p.ModelName, p.MatchPattern, p.Prices, p.EffectiveFrom).
		Scan(&p.EffectiveFrom, &p.CreatedAt, &p.UpdatedAt)
	switch {
	case isCode(err, pgerrcode.UniqueViolation):
		return pricing.Price{}, priceTaken(p)
	case isCode(err, pgerrcode.ForeignKeyViolation):
		return pricing.Price{}, fmt.Errorf("project %s: %w", p.ProjectID, tenancy.ErrNotFound)
	case err != nil:
		return pricing.Price{}, wrap(err, "insert model price")
	}
	p.EffectiveFrom, p.CreatedAt, p.UpdatedAt = p.EffectiveFrom.UTC(), p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return p, nil
}

// UpdatePrice implements pricing.Store.
func (s *PriceStore) UpdatePrice(ctx context.Context, p pricing.Price) (pricing.Price, error) {
	var pr priceRow
	err := s.db.QueryRow(ctx,
		`UPDATE model_prices m
		 SET model_name = $2, match_pattern = $3, prices = $4, effective_from = $5, updated_at = now()
		 FROM model_prices o LEFT JOIN projects p ON p.id = o.project_id
		 WHERE m.id = $1 AND o.id = m.id
		 RETURNING `+priceColumns,
		p.ID, p.ModelName, p.MatchPattern, p.Prices, p.EffectiveFrom).Scan(pr.fields()...)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return pricing.Price{}, priceNotFound(p.ID)
	case isCode(err, pgerrcode.UniqueViolation):
		return pricing.Price{}, priceTaken(p)
	case err != nil:
		return pricing.Price{}, wrap(err, "update model price")
	}
	return pr.price(), nil
}

// DeletePrice implements pricing.Store.
func (s *PriceStore) DeletePrice(ctx context.Context, id uuid.UUID) error {
	tag, err := s.db.Exec(ctx, `DELETE FROM model_prices WHERE id = $1`, id)
	if err != nil {
		return wrap(err, "delete model price")
	}
	if tag.RowsAffected() == 0 {
		return priceNotFound(id)
	}
	return nil
}
