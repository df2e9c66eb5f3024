package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/agenttrace/agenttrace/pkg/config"
	"github.com/agenttrace/agenttrace/services/auth/internal/pgstore"
	"github.com/agenttrace/agenttrace/services/auth/internal/pgtest"
)

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func migrator(t *testing.T, u config.Secret) *pgstore.Migrator {
	t.Helper()
	m, err := pgstore.NewMigrator(pgstore.Config{URL: u})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func wantVersion(t *testing.T, m *pgstore.Migrator, want uint, wantDirty bool) {
	t.Helper()
	v, dirty, err := m.Version()
	if err != nil || v != want || dirty != wantDirty {
		t.Fatalf("Version = %d, %v, %v; want %d, %v", v, dirty, err, want, wantDirty)
	}
}

func TestMigrationsLifecycle(t *testing.T) {
	ctx := context.Background()
	u := pgtest.FreshURL(t)

	created, err := pgstore.EnsureDatabase(ctx, pgstore.Config{URL: u})
	if err != nil || !created {
		t.Fatalf("EnsureDatabase = %v, %v; want created", created, err)
	}
	created, err = pgstore.EnsureDatabase(ctx, pgstore.Config{URL: u})
	if err != nil || created {
		t.Fatalf("second EnsureDatabase = %v, %v; want existing", created, err)
	}
	pool := pgtest.Pool(t, u)
	if err := pgstore.CheckSchema(ctx, pool); !errors.Is(err, pgstore.ErrSchemaMissing) {
		t.Fatalf("CheckSchema before migrating: %v, want ErrSchemaMissing", err)
	}

	m := migrator(t, u)
	wantVersion(t, m, 0, false)
	for range 2 { // up is idempotent
		if err := m.Up(ctx); err != nil {
			t.Fatal(err)
		}
		wantVersion(t, m, pgstore.LatestVersion(), false)
		if err := pgstore.CheckSchema(ctx, pool); err != nil {
			t.Fatalf("CheckSchema after up: %v", err)
		}
	}

	if err := m.Down(ctx, 1); err != nil {
		t.Fatal(err)
	}
	wantVersion(t, m, pgstore.LatestVersion()-1, false)
	if err := pgstore.CheckSchema(ctx, pool); !errors.Is(err, pgstore.ErrSchemaOutdated) {
		t.Fatalf("CheckSchema one down: %v, want ErrSchemaOutdated", err)
	}
	if err := m.Down(ctx, 0); err == nil {
		t.Fatal("Down(0) must be refused")
	}

	if _, err := pool.Exec(ctx, "UPDATE schema_migrations SET dirty = true"); err != nil {
		t.Fatal(err)
	}
	if err := pgstore.CheckSchema(ctx, pool); !errors.Is(err, pgstore.ErrSchemaDirty) {
		t.Fatalf("CheckSchema when dirty: %v, want ErrSchemaDirty", err)
	}
	if err := m.Up(ctx); err == nil {
		t.Fatal("Up on a dirty schema must fail")
	}
	if err := m.Force(int(pgstore.LatestVersion() - 1)); err != nil {
		t.Fatal(err)
	}
	wantVersion(t, m, pgstore.LatestVersion()-1, false)
	if err := m.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.Down(ctx, int(pgstore.LatestVersion())); err != nil {
		t.Fatal(err)
	}
	if err := pgstore.CheckSchema(ctx, pool); !errors.Is(err, pgstore.ErrSchemaMissing) {
		t.Fatalf("CheckSchema after all down: %v, want ErrSchemaMissing", err)
	}
}

func TestMigrateStopsWhenCancelled(t *testing.T) {
	u := pgtest.FreshURL(t)
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := pgstore.EnsureDatabase(ctx, pgstore.Config{URL: u}); err != nil {
		t.Fatal(err)
	}
	m := migrator(t, u)
	cancel()
	if err := m.Up(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Up with a cancelled context: %v, want context.Canceled", err)
	}
	v, dirty, err := m.Version()
	if err != nil || dirty || v >= pgstore.LatestVersion() {
		t.Fatalf("after a cancelled Up: version %d dirty %v err %v; want a clean partial (or no) migration", v, dirty, err)
	}
}

func TestEnsureDatabaseErrors(t *testing.T) {
	pgtest.URL(t)
	ctx := context.Background()
	tests := []struct {
		name string
		url  config.Secret
	}{
		{"maintenance database", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"},
		{"no database", "postgres://postgres@127.0.0.1:5432?sslmode=disable"},
		{"unreachable server", "postgres://postgres@127.0.0.1:1/x?sslmode=disable&connect_timeout=1"},
		{"malformed", "postgres://u:p@h:notaport/db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := pgstore.EnsureDatabase(ctx, pgstore.Config{URL: tt.url}); err == nil {
				t.Fatal("want an error")
			}
		})
	}
	if _, err := pgstore.NewMigrator(pgstore.Config{URL: "postgres://postgres@127.0.0.1:1/x?sslmode=disable&connect_timeout=1"}); err == nil {
		t.Fatal("NewMigrator against an unreachable server: want an error")
	}
}

// TestLatestVersion checks the embedded migrations are numbered 1..N without
// gaps, each with an up and a down file, and that LatestVersion is N.
func TestLatestVersion(t *testing.T) {
	entries, err := os.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	ups, downs := map[int]bool{}, map[int]bool{}
	for _, e := range entries {
		var n int
		if _, err := fmt.Sscanf(e.Name(), "%06d_", &n); err != nil {
			t.Fatalf("migration file %s is not numbered", e.Name())
		}
		switch {
		case strings.HasSuffix(e.Name(), ".up.sql"):
			ups[n] = true
		case strings.HasSuffix(e.Name(), ".down.sql"):
			downs[n] = true
		default:
			t.Fatalf("unexpected file %s", e.Name())
		}
	}
	for n := 1; n <= len(ups); n++ {
		if !ups[n] || !downs[n] {
			t.Errorf("migration %d lacks its up or down file", n)
		}
	}
	if got := pgstore.LatestVersion(); got != uint(len(ups)) {
		t.Fatalf("LatestVersion = %d, want %d", got, len(ups))
	}
}

// TestUpLeavesANewerSchemaAlone: after a rollback to an older binary, its
// `migrate up` finds a schema newer than its newest migration and must
// leave it exactly as it is (golang-migrate alone would fail on it).
func TestUpLeavesANewerSchemaAlone(t *testing.T) {
	ctx := context.Background()
	u := pgtest.FreshURL(t)
	if _, err := pgstore.EnsureDatabase(ctx, pgstore.Config{URL: u}); err != nil {
		t.Fatal(err)
	}
	m := migrator(t, u)
	if err := m.Up(ctx); err != nil {
		t.Fatal(err)
	}
	pool := pgtest.Pool(t, u)
	newer := pgstore.LatestVersion() + 2
	if _, err := pool.Exec(ctx, "UPDATE schema_migrations SET version = $1", newer); err != nil {
		t.Fatal(err)
	}
	before := schemaSnapshot(t, pool)

	err := m.Up(ctx)
	var ne *pgstore.NewerSchemaError
	if !errors.As(err, &ne) || ne.Version != newer || ne.Latest != pgstore.LatestVersion() {
		t.Fatalf("Up on a newer schema = %v, want a NewerSchemaError for %d > %d", err, newer, pgstore.LatestVersion())
	}
	if !contains(err.Error(), "schema is newer than this binary") {
		t.Errorf("error %q", err)
	}
	wantVersion(t, m, newer, false)
	if after := schemaSnapshot(t, pool); after != before {
		t.Errorf("the schema changed:\nbefore %s\nafter  %s", before, after)
	}
	if err := pgstore.CheckSchema(ctx, pool); err != nil {
		t.Errorf("CheckSchema on a newer schema: %v; an older replica must stay ready", err)
	}
	// A newer schema left dirty by the newer binary needs an operator.
	if _, err := pool.Exec(ctx, "UPDATE schema_migrations SET dirty = true"); err != nil {
		t.Fatal(err)
	}
	if err := m.Up(ctx); err == nil || errors.As(err, &ne) {
		t.Fatalf("Up on a dirty newer schema = %v, want a failure", err)
	}
}

// schemaSnapshot lists the public tables and columns, and the version row.
func schemaSnapshot(t *testing.T, pool interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}) string {
	t.Helper()
	var s string
	err := pool.QueryRow(context.Background(), `SELECT string_agg(table_name || '.' || column_name, ',' ORDER BY table_name, column_name)
		|| ' ' || (SELECT version || '/' || dirty FROM schema_migrations)
		FROM information_schema.columns WHERE table_schema = 'public'`).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Readiness shows these messages: each names the state and the command.
func TestSchemaErrorsSayWhatToRun(t *testing.T) {
	for _, tt := range []struct {
		err   error
		state string
	}{
		{pgstore.ErrSchemaMissing, "missing"},
		{pgstore.ErrSchemaOutdated, "out of date"},
		{pgstore.ErrSchemaDirty, "dirty"},
	} {
		t.Run(tt.state, func(t *testing.T) {
			if msg := tt.err.Error(); !contains(msg, tt.state) || !contains(msg, "`agenttrace-auth migrate up`") {
				t.Errorf("%q does not name %q and `agenttrace-auth migrate up`", msg, tt.state)
			}
		})
	}
}
