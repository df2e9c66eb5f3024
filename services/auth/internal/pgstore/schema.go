package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
)

var (
	// ErrSchemaMissing: the database or its tables do not exist yet.
	ErrSchemaMissing = errors.New("database schema is missing: run `agenttrace-auth migrate up` first")
	// ErrSchemaOutdated: the schema is older than this binary needs.
	ErrSchemaOutdated = errors.New("database schema is out of date: run `agenttrace-auth migrate up`")
	// ErrSchemaDirty: a migration failed half way and needs an operator.
	ErrSchemaDirty = errors.New("database schema is dirty after a failed migration: repair it by hand, " +
		"run `agenttrace-auth migrate force VERSION`, then `agenttrace-auth migrate up`")
)

// Querier is what CheckSchema needs of a pool or connection.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// CheckSchema reports whether the database holds the schema this binary
// needs. A newer schema is accepted: migrations only add, so an older
// replica keeps working during a rolling upgrade.
func CheckSchema(ctx context.Context, q Querier) error {
	var version int64
	var dirty bool
	err := q.QueryRow(ctx, "SELECT version, dirty FROM "+migrationsTable+" LIMIT 1").Scan(&version, &dirty)
	switch {
	case isCode(err, pgerrcode.UndefinedTable), isCode(err, pgerrcode.InvalidCatalogName), errors.Is(err, pgx.ErrNoRows):
		return ErrSchemaMissing
	case err != nil:
		return fmt.Errorf("read schema version: %w", err)
	case dirty:
		return fmt.Errorf("%w (version %d)", ErrSchemaDirty, version)
	case version < int64(LatestVersion()):
		return fmt.Errorf("%w (at version %d, need %d)", ErrSchemaOutdated, version, LatestVersion())
	}
	return nil
}
