package chmigrate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/golang-migrate/migrate/v4/database"

	"github.com/agenttrace/agenttrace/pkg/chschema"
)

// VersionTable records applied migrations (see chschema.VersionTable, which
// readers check the schema through).
const VersionTable = chschema.VersionTable

// statementTimeout bounds one migration statement; golang-migrate's driver
// interface carries no context. A statement that copies a table (000013,
// 000017) takes as long as the table: about 150k observation rows/s on two
// cores, so an hour covers some 500M rows. The Helm chart's
// migrations.activeDeadlineSeconds must stay above it.
const statementTimeout = time.Hour

// Driver is a golang-migrate database.Driver over clickhouse-go v2. It runs
// each migration file as one statement (chschema keeps one per file).
type Driver struct {
	conn   driver.Conn
	locked atomic.Bool
}

var _ database.Driver = (*Driver)(nil)

// NewDriver prepares conn, which must be connected to the target database,
// for migrations by creating the version table when it is missing.
func NewDriver(ctx context.Context, conn driver.Conn) (*Driver, error) {
	if err := conn.Exec(ctx, chschema.CreateVersionTable); err != nil {
		return nil, fmt.Errorf("create %s: %w", VersionTable, err)
	}
	return &Driver{conn: conn}, nil
}

// Open is not supported: the driver is built from an open connection with
// NewDriver, so there is no URL to parse.
func (d *Driver) Open(string) (database.Driver, error) {
	return nil, errors.New("chmigrate: use NewDriver")
}

// Close leaves the connection to its owner.
func (d *Driver) Close() error { return nil }

// Lock guards against concurrent use within this process only. ClickHouse has
// no locks; the migrations themselves are idempotent (IF [NOT] EXISTS), so
// two processes migrating at once do no harm.
func (d *Driver) Lock() error {
	if !d.locked.CompareAndSwap(false, true) {
		return database.ErrLocked
	}
	return nil
}

// Unlock releases Lock.
func (d *Driver) Unlock() error {
	if !d.locked.CompareAndSwap(true, false) {
		return database.ErrNotLocked
	}
	return nil
}

// Run executes one migration file as a single statement.
func (d *Driver) Run(migration io.Reader) error {
	raw, err := io.ReadAll(migration)
	if err != nil {
		return fmt.Errorf("read migration: %w", err)
	}
	q := strings.TrimSpace(string(raw))
	// A trailing semicolon is conventional in .sql files; the native protocol
	// takes exactly one statement.
	q = strings.TrimSpace(strings.TrimSuffix(q, ";"))
	if onlyComments(q) {
		return nil // a migration with nothing to do, such as a copy's down
	}
	ctx, cancel := context.WithTimeout(context.Background(), statementTimeout)
	defer cancel()
	if err := d.conn.Exec(ctx, q); err != nil {
		return database.Error{OrigErr: err, Err: "migration failed", Query: raw}
	}
	return nil
}

// onlyComments reports whether q holds no statement: every line is blank
// or a "--" comment.
func onlyComments(q string) bool {
	for line := range strings.Lines(q) {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "--") {
			return false
		}
	}
	return true
}

// SetVersion appends a row; the newest sequence is the current version.
func (d *Driver) SetVersion(version int, dirty bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), statementTimeout)
	defer cancel()
	var dirtyFlag uint8
	if dirty {
		dirtyFlag = 1
	}
	q := "INSERT INTO " + VersionTable + " (version, dirty, sequence)"
	batch, err := d.conn.PrepareBatch(ctx, q)
	if err != nil {
		return fmt.Errorf("set version: %w", err)
	}
	if err := batch.Append(int64(version), dirtyFlag, uint64(time.Now().UnixNano())); err != nil {
		_ = batch.Abort()
		return fmt.Errorf("set version: %w", err)
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("set version: %w", err)
	}
	return nil
}

// Version returns the newest recorded version, or database.NilVersion.
func (d *Driver) Version() (int, bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), statementTimeout)
	defer cancel()
	rows, err := d.conn.Query(ctx, "SELECT version, dirty FROM "+VersionTable+" ORDER BY sequence DESC LIMIT 1")
	if err != nil {
		return 0, false, fmt.Errorf("read version: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		return database.NilVersion, false, rows.Err()
	}
	var (
		version int64
		dirty   uint8
	)
	if err := rows.Scan(&version, &dirty); err != nil {
		return 0, false, fmt.Errorf("read version: %w", err)
	}
	return int(version), dirty == 1, nil
}

// Drop removes every table of the current database, the version table too.
func (d *Driver) Drop() error {
	ctx, cancel := context.WithTimeout(context.Background(), statementTimeout)
	defer cancel()
	rows, err := d.conn.Query(ctx, "SELECT name FROM system.tables WHERE database = currentDatabase()")
	if err != nil {
		return fmt.Errorf("list tables: %w", err)
	}
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return fmt.Errorf("list tables: %w", err)
		}
		names = append(names, name)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list tables: %w", err)
	}
	for _, name := range names {
		if err := d.conn.Exec(ctx, "DROP TABLE IF EXISTS "+QuoteIdent(name)); err != nil {
			return fmt.Errorf("drop %s: %w", name, err)
		}
	}
	return nil
}

// QuoteIdent quotes a ClickHouse identifier (a database or table name).
func QuoteIdent(name string) string {
	return "`" + strings.NewReplacer(`\`, `\\`, "`", "\\`").Replace(name) + "`"
}
