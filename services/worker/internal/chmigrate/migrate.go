// Package chmigrate applies the ClickHouse schema embedded in pkg/chschema
// with golang-migrate, over clickhouse-go v2 rather than golang-migrate's own
// ClickHouse driver, so the worker speaks to ClickHouse through one client.
package chmigrate

import (
	"context"
	"errors"
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/golang-migrate/migrate/v4"
	"github.com/golang-migrate/migrate/v4/source/iofs"

	"github.com/agenttrace/agenttrace/pkg/chschema"
	"github.com/agenttrace/agenttrace/pkg/clickhousedb"
)

// Migrator applies the embedded migrations to one database.
type Migrator struct {
	m    *migrate.Migrate
	conn driver.Conn
}

// Status is the schema version of a database.
type Status struct {
	// Applied is false when no migration has ever run.
	Applied bool
	Version uint
	// Dirty means a migration failed half way and needs an operator.
	Dirty bool
}

// Open creates cfg.Database when it is missing and prepares to migrate it.
func Open(ctx context.Context, cfg clickhousedb.Config) (*Migrator, error) {
	// QueryTimeout bounds reads; a migration that copies a table is bounded
	// by statementTimeout instead (max_execution_time 0 is no limit).
	cfg.QueryTimeout = 0
	if err := CreateDatabase(ctx, cfg); err != nil {
		return nil, err
	}
	conn, err := clickhousedb.Open(ctx, cfg, "")
	if err != nil {
		return nil, err
	}
	drv, err := NewDriver(ctx, conn)
	if err != nil {
		conn.Close()
		return nil, err
	}
	src, err := iofs.New(chschema.Migrations, "migrations")
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("read embedded migrations: %w", err)
	}
	m, err := migrate.NewWithInstance("iofs", src, "clickhouse", drv)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return &Migrator{m: m, conn: conn}, nil
}

// CreateDatabase creates cfg.Database if it does not exist, connecting
// through the always-present "default" database.
func CreateDatabase(ctx context.Context, cfg clickhousedb.Config) error {
	conn, err := clickhousedb.Open(ctx, cfg, "default")
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+QuoteIdent(cfg.Database)); err != nil {
		return fmt.Errorf("create database %s: %w", cfg.Database, err)
	}
	return nil
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

// Up applies every pending migration; nothing pending is not an error. A
// clean schema newer than this binary is left as it is, with a
// *NewerSchemaError; golang-migrate would fail on it, not finding the
// applied version among its files.
func (m *Migrator) Up() error {
	st, err := m.Status()
	if err != nil {
		return err
	}
	if latest := chschema.LatestVersion(); st.Applied && !st.Dirty && st.Version > latest {
		return &NewerSchemaError{Version: st.Version, Latest: latest}
	}
	if err := m.m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("migrate up: %w", err)
	}
	return nil
}

// Down reverts the newest steps migrations, or all of them when steps <= 0.
func (m *Migrator) Down(steps int) error {
	var err error
	if steps <= 0 {
		err = m.m.Down()
	} else {
		err = m.m.Steps(-steps)
	}
	if err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("migrate down: %w", err)
	}
	return nil
}

// Status reports the current version.
func (m *Migrator) Status() (Status, error) {
	v, dirty, err := m.m.Version()
	if errors.Is(err, migrate.ErrNilVersion) {
		return Status{}, nil
	}
	if err != nil {
		return Status{}, fmt.Errorf("migrate version: %w", err)
	}
	return Status{Applied: true, Version: v, Dirty: dirty}, nil
}

// Close releases the connection.
func (m *Migrator) Close() error {
	srcErr, dbErr := m.m.Close()
	return errors.Join(srcErr, dbErr, m.conn.Close())
}
