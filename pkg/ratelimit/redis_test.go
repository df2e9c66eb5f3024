package ratelimit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/caarlos0/env/v11"
	"github.com/redis/go-redis/v9"

	"github.com/agenttrace/agenttrace/pkg/config"
)

// testConfig is the default configuration with a key prefix of its own, so
// that tests running at the same time never share a bucket.
func testConfig(t testing.TB) Config {
	t.Helper()
	var cfg Config
	if err := env.ParseWithOptions(&cfg, env.Options{Prefix: config.Prefix, Environment: map[string]string{}}); err != nil {
		t.Fatal(err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	cfg.KeyPrefix = "agenttrace-test:" + hex.EncodeToString(b[:]) + ":"
	return cfg
}

// newRedisLimiter builds a limiter on the real Redis and removes its keys at
// the end. Without Redis the test fails, unless -short skips it.
func newRedisLimiter(t testing.TB, cfg Config) *Limiter {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs Redis")
	}
	rdb := redis.NewClient(&redis.Options{Addr: cfg.RedisAddr, Password: cfg.RedisPassword.Value(), DB: cfg.RedisDB})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("redis at %s: %v", cfg.RedisAddr, err)
	}
	lim, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = lim.Close(context.Background())
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		// redis_rate puts its own "rate:" before every key.
		iter := rdb.Scan(ctx, 0, "rate:"+cfg.KeyPrefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Errorf("clean up redis keys: %v", err)
		}
		_ = rdb.Close()
	})
	return lim
}
