package pgstore

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// maintenanceDB is the database every PostgreSQL server has, used to create
// the service's own.
const maintenanceDB = "postgres"

// EnsureDatabase creates the database cfg names when it does not exist,
// connecting to the server's "postgres" database to do so. It reports
// whether it created it.
func EnsureDatabase(ctx context.Context, cfg Config) (bool, error) {
	cc, err := cfg.connConfig()
	if err != nil {
		return false, err
	}
	name := cc.Database
	if name == "" || name == maintenanceDB {
		return false, fmt.Errorf("AGENTTRACE_POSTGRES_URL must name the service's own database, not %q", name)
	}
	// Try the database itself first: a role that may use its database need
	// not be allowed into the maintenance one.
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err == nil {
		return false, conn.Close(ctx)
	}
	if !isCode(err, pgerrcode.InvalidCatalogName) {
		return false, fmt.Errorf("connect to database %q: %w", name, err)
	}

	admin := cc.Copy()
	admin.Database = maintenanceDB
	conn, err = pgx.ConnectConfig(ctx, admin)
	if err != nil {
		return false, fmt.Errorf("connect to database %q to create %q: %w", maintenanceDB, name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	switch {
	case isCode(err, pgerrcode.DuplicateDatabase):
		return false, nil // created concurrently by another replica
	case err != nil:
		return false, fmt.Errorf("create database %q: %w", name, err)
	}
	return true, nil
}

// unreachable reports whether err means PostgreSQL could not be reached or
// refused work for now (connection failures, shutdown, too many clients).
func unreachable(err error) bool {
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgerrcode.IsConnectionException(pgErr.Code) ||
			pgerrcode.IsOperatorIntervention(pgErr.Code) ||
			pgErr.Code == pgerrcode.TooManyConnections
	}
	return false
}

func isCode(err error, code string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == code
}
