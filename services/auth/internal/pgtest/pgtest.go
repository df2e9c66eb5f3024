// Package pgtest gives tests their own PostgreSQL databases on the real
// server, uniquely named so that concurrent test runs never meet, and drops
// them afterwards. Without -short a missing server fails the tests.
package pgtest

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/agenttrace/agenttrace/pkg/config"
	"github.com/agenttrace/agenttrace/services/auth/internal/pgstore"
)

// serverURL is the server the databases are made on; AGENTTRACE_TEST_POSTGRES_URL
// overrides it (its database part is ignored).
func serverURL() string {
	if u := os.Getenv("AGENTTRACE_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

var (
	pkgURL   config.Secret
	setupErr error
)

// Main runs a package's tests with a migrated database of their own (see
// URL), dropped at the end. Call it from TestMain.
func Main(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	pkgURL, setupErr = urlFor(uniqueName())
	if setupErr == nil {
		setupErr = create(ctx, pkgURL)
	}
	if setupErr == nil {
		setupErr = migrateUp(ctx, pkgURL)
	}
	cancel()
	code := m.Run()
	if pkgURL == "" {
		os.Exit(code)
	}
	if err := Drop(pkgURL); err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// URL is the package's migrated database. It skips under -short and fails
// the test when the database could not be set up.
func URL(t testing.TB) config.Secret {
	t.Helper()
	if testing.Short() {
		t.Skip("needs PostgreSQL; skipped with -short")
	}
	if setupErr != nil {
		t.Fatalf("test database: %v", setupErr)
	}
	return pkgURL
}

// FreshURL names a database that does not exist yet, for tests of creating
// and migrating one; it is dropped when the test ends.
func FreshURL(t testing.TB) config.Secret {
	t.Helper()
	if testing.Short() {
		t.Skip("needs PostgreSQL; skipped with -short")
	}
	u, err := urlFor(uniqueName())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := Drop(u); err != nil {
			t.Error(err)
		}
	})
	return u
}

// Pool opens a pool on u, closed when the test ends.
func Pool(t testing.TB, u config.Secret) *pgxpool.Pool {
	t.Helper()
	pool, err := pgstore.Open(context.Background(), pgstore.Config{URL: u, MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func uniqueName() string {
	return "agenttrace_auth_test_" + strings.ToLower(rand.Text()[:12])
}

func urlFor(db string) (config.Secret, error) {
	u, err := url.Parse(serverURL())
	if err != nil {
		return "", fmt.Errorf("parse AGENTTRACE_TEST_POSTGRES_URL: %w", err)
	}
	u.Path = "/" + db
	return config.Secret(u.String()), nil
}

func create(ctx context.Context, u config.Secret) error {
	created, err := pgstore.EnsureDatabase(ctx, pgstore.Config{URL: u})
	if err == nil && !created {
		err = errors.New("test database already existed")
	}
	return err
}

func migrateUp(ctx context.Context, u config.Secret) error {
	m, err := pgstore.NewMigrator(pgstore.Config{URL: u})
	if err != nil {
		return err
	}
	defer m.Close()
	return m.Up(ctx)
}

// Drop removes the database of u if it exists, closing its connections.
func Drop(u config.Secret) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cc, err := pgx.ParseConfig(u.Value())
	if err != nil {
		return err
	}
	db := cc.Database
	cc.Database = "postgres"
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return fmt.Errorf("drop test database %s: %w", db, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{db}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop test database %s: %w", db, err)
	}
	return nil
}
