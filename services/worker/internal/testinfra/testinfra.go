// Package testinfra gives integration tests their own slice of the real
// servers: a uniquely named ClickHouse database with the schema applied and a
// unique JetStream namespace, both removed when the test ends, so engineers
// running tests at the same time never see each other's data.
package testinfra

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/agenttrace/agenttrace/pkg/clickhousedb"
	"github.com/agenttrace/agenttrace/pkg/stream"
	"github.com/agenttrace/agenttrace/services/worker/internal/chmigrate"
	"github.com/agenttrace/agenttrace/services/worker/internal/lease"
)

// SkipIfShort skips integration tests under -short only: without it a
// missing server is a failure, not a skip.
func SkipIfShort(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs ClickHouse and NATS")
	}
}

// UniqueName is prefix followed by random hex, valid as a ClickHouse
// database name and a JetStream namespace.
func UniqueName(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// ClickHouseConfig points at the local server (AGENTTRACE_CLICKHOUSE_ADDR
// overrides 127.0.0.1:9000) and a fresh, unmigrated database name that is
// dropped when the test ends.
func ClickHouseConfig(t testing.TB) clickhousedb.Config {
	t.Helper()
	SkipIfShort(t)
	cfg := clickhousedb.Config{
		Addr:         envOr("AGENTTRACE_CLICKHOUSE_ADDR", "127.0.0.1:9000"),
		Database:     UniqueName("worker_test_"),
		User:         "default",
		MaxOpenConns: 4,
		DialTimeout:  5 * time.Second,
		QueryTimeout: 30 * time.Second,
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := clickhousedb.Open(ctx, cfg, "default")
		if err != nil {
			t.Errorf("drop test database: %v", err)
			return
		}
		defer conn.Close()
		if err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+chmigrate.QuoteIdent(cfg.Database)); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	return cfg
}

// ClickHouse is ClickHouseConfig with the schema migrated up, and a
// connection to it closed when the test ends.
func ClickHouse(t testing.TB) (clickhousedb.Config, driver.Conn) {
	t.Helper()
	cfg := ClickHouseConfig(t)
	ctx := context.Background()
	m, err := chmigrate.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("open migrator: %v", err)
	}
	if err := m.Up(); err != nil {
		t.Fatalf("migrate up: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("close migrator: %v", err)
	}
	return cfg, Conn(t, cfg)
}

// Conn opens a connection to cfg.Database, closed when the test ends.
func Conn(t testing.TB, cfg clickhousedb.Config) driver.Conn {
	t.Helper()
	conn, err := clickhousedb.Open(context.Background(), cfg, "")
	if err != nil {
		t.Fatalf("open clickhouse: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// NATS returns a stream configuration in a namespace of its own with the
// streams declared, and a connection; the streams are deleted and the
// connection closed when the test ends.
func NATS(t testing.TB) (stream.Config, *nats.Conn, jetstream.JetStream) {
	t.Helper()
	SkipIfShort(t)
	cfg := stream.Config{
		Namespace:        UniqueName("wtest_"),
		URL:              envOr("AGENTTRACE_NATS_URL", nats.DefaultURL),
		Replicas:         1,
		DuplicateWindow:  time.Minute,
		MaxBytes:         -1,
		DeadLetterMaxAge: time.Hour,
	}
	nc, err := nats.Connect(cfg.URL, nats.Timeout(5*time.Second))
	if err != nil {
		t.Fatalf("connect nats: %v", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		t.Fatalf("jetstream: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		// The lease bucket exists only when a test ran the retention job.
		for _, name := range []string{cfg.EventsStream(), cfg.DeadLetterStream(), "KV_" + lease.BucketName(cfg)} {
			if err := js.DeleteStream(ctx, name); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
				t.Errorf("delete stream %s: %v", name, err)
			}
		}
		nc.Close()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := stream.EnsureStreams(ctx, js, cfg); err != nil {
		t.Fatalf("ensure streams: %v", err)
	}
	return cfg, nc, js
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
