package pgstore

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

// conn is a pool or a transaction. A transaction's Begin makes a savepoint,
// so a Store method that opens its own transaction still works inside InTx.
type conn interface {
	Begin(ctx context.Context) (pgx.Tx, error)
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// InTx implements tenancy.Store: fn's reads and writes through st, and
// whatever else it writes through tx (its audit record), commit together,
// or not at all when fn fails.
func (s *Store) InTx(ctx context.Context, fn func(st tenancy.Store, tx pgx.Tx) error) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		return fn(&Store{pool: tx}, tx)
	})
	// fn's own errors pass through unchanged; only begin and commit
	// failures are the database's.
	if err != nil && unreachable(err) && !errors.Is(err, tenancy.ErrUnavailable) {
		return wrap(err, "transaction")
	}
	return err
}
