package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sync"

	"github.com/golang-migrate/migrate/v4"
	pgxmigrate "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/agenttrace/agenttrace/pkg/config"
)

// migrationsTable is golang-migrate's bookkeeping table; CheckSchema reads it.
const migrationsTable = "schema_migrations"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrator applies the embedded schema migrations to one database.
type Migrator struct {
	m *migrate.Migrate
}

// NewMigrator connects to the database in url (which must exist; see
// EnsureDatabase). Close it when done.
func NewMigrator(url config.Secret) (*Migrator, error) {
	cc, err := parseURL(url)
	if err != nil {
		return nil, err
	}
	src, err := iofs.New(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("read embedded migrations: %w", err)
	}
	db := stdlib.OpenDB(*cc)
	drv, err := pgxmigrate.WithInstance(db, &pgxmigrate.Config{MigrationsTable: migrationsTable})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open migration driver: %w", err)
	}
	m, err := migrate.NewWithInstance("iofs", src, "pgx5", drv)
	if err != nil {
		drv.Close()
		return nil, fmt.Errorf("prepare migrations: %w", err)
	}
	return &Migrator{m: m}, nil
}

// Close releases the migrator's connection.
func (g *Migrator) Close() error {
	srcErr, dbErr := g.m.Close()
	return errors.Join(srcErr, dbErr)
}

// Up applies every pending migration. Concurrent runs are serialized by an
// advisory lock, so replicas may all run it at startup.
func (g *Migrator) Up(ctx context.Context) error {
	return g.run(ctx, g.m.Up)
}

// Down reverts the last steps migrations.
func (g *Migrator) Down(ctx context.Context, steps int) error {
	if steps <= 0 {
		return fmt.Errorf("down: steps must be positive, got %d", steps)
	}
	return g.run(ctx, func() error { return g.m.Steps(-steps) })
}

// Force records version as applied and clean without running anything: the
// way out after an operator repaired a failed migration by hand.
func (g *Migrator) Force(version int) error {
	if err := g.m.Force(version); err != nil {
		return fmt.Errorf("force version %d: %w", version, err)
	}
	return nil
}

// Version is the applied schema version (0 when none) and whether a failed
// migration left it dirty.
func (g *Migrator) Version() (uint, bool, error) {
	v, dirty, err := g.m.Version()
	if errors.Is(err, migrate.ErrNilVersion) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read schema version: %w", err)
	}
	return v, dirty, nil
}

// run stops migrating between two migrations when ctx ends; one already
// running finishes, since a half-applied migration is worse than a late exit.
func (g *Migrator) run(ctx context.Context, fn func() error) error {
	stop := context.AfterFunc(ctx, func() {
		select {
		case g.m.GracefulStop <- true:
		default:
		}
	})
	defer stop()
	err := fn()
	if errors.Is(err, migrate.ErrNoChange) {
		err = nil
	}
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return ctx.Err()
}

// LatestVersion is the version of the newest embedded migration: the schema
// this binary needs.
var LatestVersion = sync.OnceValue(func() uint {
	entries, err := fs.Glob(migrationFiles, "migrations/*.up.sql")
	if err != nil {
		panic(err) // the pattern is a constant
	}
	var latest uint
	for _, e := range entries {
		var v uint
		if _, err := fmt.Sscanf(e, "migrations/%d_", &v); err == nil && v > latest {
			latest = v
		}
	}
	return latest
})
