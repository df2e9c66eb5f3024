package clickhousedb

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"
)

// OpenRetry keeps trying while nothing answers and gives up with the
// context's error when the context ends.
func TestOpenRetryGivesUpWithTheContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	cfg := Config{Addr: "127.0.0.1:1", Database: "x", User: "default", DialTimeout: 200 * time.Millisecond, QueryTimeout: time.Second, MaxOpenConns: 1}
	_, err := OpenRetry(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), cfg)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("OpenRetry = %v, want the context's deadline error", err)
	}
}

func TestOpenRetryConnects(t *testing.T) {
	if testing.Short() {
		t.Skip("needs ClickHouse")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg := Config{Addr: "127.0.0.1:9000", Database: "default", User: "default", DialTimeout: time.Second, QueryTimeout: 5 * time.Second, MaxOpenConns: 1}
	conn, err := OpenRetry(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), cfg)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
}
