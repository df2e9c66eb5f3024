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
)

// migrationsTable is golang-migrate's bookkeeping table; CheckSchema reads it.
const migrationsTable = "schema_migrations"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrator applies the embedded schema migrations to one database.
type Migrator struct {
	m *migrate.Migrate
}

// NewMigrator connects to the database cfg names (which must exist; see
// EnsureDatabase). Close it when done.
func NewMigrator(cfg Config) (*Migrator, error) {
	cc, err := cfg.connConfig()
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

// NewerSchemaError is Up's answer when the database's schema is newer than
// the newest migration this binary embeds: after a rollback to older images
// the older migration Job runs again, and must leave the schema alone.
type NewerSchemaError struct {
	Version, Latest uint
}

func (e *NewerSchemaError) Error() string {
	return fmt.Sprintf("schema is newer than this binary: database at version %d, newest migration here %d", e.Version, e.Latest)
}

// Up applies every pending migration. Concurrent runs are serialized by an
// advisory lock, so replicas may all run it at startup. A clean schema newer
// than this binary is left as it is, with a *NewerSchemaError; golang-migrate
// would fail on it, not finding the applied version among its files.
func (g *Migrator) Up(ctx context.Context) error {
	v, dirty, err := g.Version()
	if err != nil {
		return err
	}
	if latest := LatestVersion(); !dirty && v > latest {
		return &NewerSchemaError{Version: v, Latest: latest}
	}
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
