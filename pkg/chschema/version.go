package chschema

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sync"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/agenttrace/agenttrace/pkg/clickhousedb"
)

// VersionTable records applied migrations, one row per version change; the
// row with the highest sequence is the current version. Its layout is that of
// golang-migrate's own ClickHouse driver, so either driver reads the other's
// history.
const VersionTable = "schema_migrations"

// CreateVersionTable is VersionTable's DDL. TinyLog: a handful of rows,
// written rarely; available on every release.
const CreateVersionTable = "CREATE TABLE IF NOT EXISTS " + VersionTable +
	" (version Int64, dirty UInt8, sequence UInt64) ENGINE = TinyLog"

var (
	// ErrSchemaMissing: the database, its version table or every migration
	// is missing.
	ErrSchemaMissing = errors.New("clickhouse schema is missing: run `agenttrace-worker migrate up`")
	// ErrSchemaOutdated: the schema is older than this binary needs.
	ErrSchemaOutdated = errors.New("clickhouse schema is out of date: run `agenttrace-worker migrate up`")
	// ErrSchemaDirty: a migration failed half way and needs an operator.
	// The worker has no `migrate force` (yet): marking the version clean is
	// a row in VersionTable with dirty = 0 and a higher sequence.
	ErrSchemaDirty = errors.New("clickhouse schema is dirty after a failed migration: repair it by hand, " +
		"record the version as clean in " + VersionTable + ", then run `agenttrace-worker migrate up`")
)

// LatestVersion is the version of the newest embedded migration: the schema
// the worker and query of this build need.
var LatestVersion = sync.OnceValue(func() uint {
	entries, err := fs.Glob(Migrations, "migrations/*.up.sql")
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

// Check reports whether conn's database holds the schema this build needs:
// ErrSchemaMissing, ErrSchemaOutdated or ErrSchemaDirty (wrapped, with the
// versions) when it does not, another error when ClickHouse cannot say. A
// newer schema is accepted: the tables an older replica uses stay, so it
// keeps working during a rolling upgrade or after a rollback (past 000019
// its readers see the moved rows only after `migrate down`; see the README).
func Check(ctx context.Context, conn driver.Conn) error {
	rows, err := conn.Query(ctx, "SELECT version, dirty FROM "+VersionTable+" ORDER BY sequence DESC LIMIT 1")
	if clickhousedb.IsCode(err, clickhousedb.CodeUnknownTable) || clickhousedb.IsCode(err, clickhousedb.CodeUnknownDatabase) {
		return ErrSchemaMissing
	}
	if err != nil {
		return fmt.Errorf("read clickhouse schema version: %w", err)
	}
	defer rows.Close()
	var (
		version int64
		dirty   uint8
	)
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read clickhouse schema version: %w", err)
		}
		return ErrSchemaMissing
	}
	if err := rows.Scan(&version, &dirty); err != nil {
		return fmt.Errorf("read clickhouse schema version: %w", err)
	}
	latest := int64(LatestVersion())
	switch {
	case dirty == 1:
		return fmt.Errorf("%w (version %d)", ErrSchemaDirty, version)
	case version <= 0:
		// golang-migrate records -1 once every migration is reverted.
		return ErrSchemaMissing
	case version < latest:
		return fmt.Errorf("%w (at version %d, need %d)", ErrSchemaOutdated, version, latest)
	}
	return nil
}
