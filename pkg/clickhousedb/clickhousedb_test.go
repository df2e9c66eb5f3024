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

// A Background connection fails with ErrNotConnected until Run connects,
// and Run returns nil when the service stops before ClickHouse answers.
func TestBackgroundBeforeConnecting(t *testing.T) {
	cfg := Config{Addr: "127.0.0.1:1", Database: "x", User: "default", DialTimeout: 200 * time.Millisecond, QueryTimeout: time.Second, MaxOpenConns: 1}
	b := NewBackground(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if _, err := b.Conn(); !errors.Is(err, ErrNotConnected) {
		t.Errorf("Conn before Run = %v, want ErrNotConnected", err)
	}
	if err := b.Ping(context.Background()); !errors.Is(err, ErrNotConnected) {
		t.Errorf("Ping before Run = %v, want ErrNotConnected", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := b.Run(ctx); err != nil {
		t.Errorf("Run stopped by its context = %v, want nil", err)
	}
	if _, err := b.Conn(); !errors.Is(err, ErrNotConnected) {
		t.Errorf("Conn after Run gave up = %v, want ErrNotConnected", err)
	}
	if err := b.Close(context.Background()); err != nil {
		t.Errorf("Close without a connection = %v", err)
	}
}

func TestBackgroundConnects(t *testing.T) {
	if testing.Short() {
		t.Skip("needs ClickHouse")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg := Config{Addr: "127.0.0.1:9000", Database: "default", User: "default", DialTimeout: time.Second, QueryTimeout: 5 * time.Second, MaxOpenConns: 1}
	b := NewBackground(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := b.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Conn(); err != nil {
		t.Fatal(err)
	}
	if err := b.Ping(ctx); err != nil {
		t.Error(err)
	}
	if err := b.Close(ctx); err != nil {
		t.Error(err)
	}
}
