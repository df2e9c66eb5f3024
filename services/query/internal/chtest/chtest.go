// Package chtest gives tests a private ClickHouse database with the chschema
// tables and writes version rows into it the way the worker does: one
// explicit-column INSERT per batch, only the fields an event sets.
package chtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io/fs"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/agenttrace/agenttrace/pkg/chschema"
	"github.com/agenttrace/agenttrace/pkg/clickhousedb"
)

// Config is how tests reach ClickHouse (AGENTTRACE_CLICKHOUSE_ADDR or the local default).
func Config() clickhousedb.Config {
	addr := os.Getenv("AGENTTRACE_CLICKHOUSE_ADDR")
	if addr == "" {
		addr = "127.0.0.1:9000"
	}
	return clickhousedb.Config{Addr: addr, User: "default", MaxOpenConns: 4, DialTimeout: 5 * time.Second, QueryTimeout: 60 * time.Second}
}

// NewDB creates a uniquely named database holding the migrated schema, its
// version recorded as the worker's `migrate up` records it, and drops it
// when the test ends. Without ClickHouse the test fails (it skips only
// under -short).
func NewDB(tb testing.TB) driver.Conn {
	tb.Helper()
	conn := NewEmptyDB(tb)
	ctx := context.Background()
	files, err := fs.Glob(chschema.Migrations, "migrations/*.up.sql")
	if err != nil {
		tb.Fatal(err)
	}
	slices.Sort(files)
	for _, f := range files {
		sql, err := fs.ReadFile(chschema.Migrations, f)
		if err != nil {
			tb.Fatal(err)
		}
		if err := conn.Exec(ctx, strings.TrimSpace(string(sql))); err != nil {
			tb.Fatalf("migration %s: %v", f, err)
		}
	}
	if err := conn.Exec(ctx, chschema.CreateVersionTable); err != nil {
		tb.Fatal(err)
	}
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO "+chschema.VersionTable+" (version, dirty, sequence)")
	if err != nil {
		tb.Fatal(err)
	}
	if err := batch.Append(int64(chschema.LatestVersion()), uint8(0), uint64(time.Now().UnixNano())); err != nil {
		tb.Fatal(err)
	}
	if err := batch.Send(); err != nil {
		tb.Fatal(err)
	}
	return conn
}

// NewEmptyDB is NewDB without the schema: a database whose migrations have
// not run yet.
func NewEmptyDB(tb testing.TB) driver.Conn {
	tb.Helper()
	if testing.Short() {
		tb.Skip("ClickHouse integration test; skipped with -short")
	}
	ctx := context.Background()
	cfg := Config()
	admin, err := clickhousedb.Open(ctx, cfg, "default")
	if err != nil {
		tb.Fatalf("ClickHouse is required for this test: %v", err)
	}
	var suffix [6]byte
	_, _ = rand.Read(suffix[:])
	db := "query_test_" + hex.EncodeToString(suffix[:])
	if err := admin.Exec(ctx, "CREATE DATABASE "+db); err != nil {
		tb.Fatalf("create database: %v", err)
	}
	tb.Cleanup(func() {
		if err := admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db); err != nil {
			tb.Errorf("drop database %s: %v", db, err)
		}
		admin.Close()
	})
	conn, err := clickhousedb.Open(ctx, cfg, db)
	if err != nil {
		tb.Fatalf("open %s: %v", db, err)
	}
	tb.Cleanup(func() { conn.Close() })
	return conn
}

// RollUp rolls up every hour of every project's observations, as the
// worker's rollup job does once they have closed, and marks the hours up
// to the last one as closed.
func RollUp(tb testing.TB, conn driver.Conn) {
	tb.Helper()
	ctx := context.Background()
	hours, err := chschema.ObservationHoursIn(ctx, conn, 0, ^uint64(0))
	if err != nil {
		tb.Fatal(err)
	}
	var last uint64
	generation := uint64(time.Now().UnixNano())
	for project, hs := range hours {
		last = max(last, slices.Max(hs))
		if err := chschema.RollupObservationHours(ctx, conn, project, hs, generation); err != nil {
			tb.Fatal(err)
		}
	}
	if err := chschema.SetRollupProgress(ctx, conn, chschema.RollupViewObservations, chschema.ProgressClosed, last+chschema.RollupHour); err != nil {
		tb.Fatal(err)
	}
}
