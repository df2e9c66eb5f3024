package ratelimit

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestAllowInRedis(t *testing.T) {
	lim := newRedisLimiter(t, testConfig(t))
	ctx := context.Background()
	tests := []struct {
		name  string
		limit Limit
		calls int
		// allowed is how many of calls are allowed.
		allowed int
	}{
		{"burst then refused", PerSecond(10, 5), 8, 5},
		{"burst defaults to rate", Limit{Rate: 3}, 5, 3},
		{"per minute", Limit{Rate: 2, Burst: 2, Period: time.Minute}, 4, 2},
		{"disabled", Limit{}, 50, 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			allowed := 0
			var last Result
			for range tt.calls {
				res, err := lim.Allow(ctx, "allow:"+tt.name, tt.limit)
				if err != nil {
					t.Fatal(err)
				}
				if res.Local {
					t.Fatal("decided locally with Redis up")
				}
				if res.Allowed {
					allowed++
				}
				last = res
			}
			if allowed != tt.allowed {
				t.Errorf("allowed %d of %d calls, want %d", allowed, tt.calls, tt.allowed)
			}
			if tt.limit.Disabled() {
				return
			}
			if last.Allowed || last.Remaining != 0 {
				t.Errorf("last call %+v, want refused with nothing remaining", last)
			}
			period := last.Limit.Period
			interval := period / time.Duration(last.Limit.Rate)
			if last.RetryAfter <= 0 || last.RetryAfter > interval {
				t.Errorf("RetryAfter %v, want in (0, %v]", last.RetryAfter, interval)
			}
			full := time.Duration(last.Limit.Burst) * interval
			if last.ResetAfter <= full-interval || last.ResetAfter > full {
				t.Errorf("ResetAfter %v, want about %v", last.ResetAfter, full)
			}
		})
	}
}

func TestAllowRemainingCountsDown(t *testing.T) {
	lim := newRedisLimiter(t, testConfig(t))
	limit := Limit{Rate: 1, Burst: 4, Period: time.Hour}
	for want := 3; want >= 0; want-- {
		res, err := lim.Allow(context.Background(), "countdown", limit)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Allowed || res.Remaining != want {
			t.Fatalf("got allowed=%v remaining=%d, want allowed with %d remaining", res.Allowed, res.Remaining, want)
		}
	}
}

func TestAllowKeysAreSeparate(t *testing.T) {
	lim := newRedisLimiter(t, testConfig(t))
	limit := Limit{Rate: 1, Burst: 1, Period: time.Hour}
	for _, key := range []string{"a", "b"} {
		res, err := lim.Allow(context.Background(), key, limit)
		if err != nil || !res.Allowed {
			t.Fatalf("first call on %q: %+v, %v", key, res, err)
		}
	}
	if res, _ := lim.Allow(context.Background(), "a", limit); res.Allowed {
		t.Error("second call on a allowed")
	}
}

func TestReset(t *testing.T) {
	lim := newRedisLimiter(t, testConfig(t))
	limit := Limit{Rate: 1, Burst: 1, Period: time.Hour}
	ctx := context.Background()
	if res, _ := lim.Allow(ctx, "r", limit); !res.Allowed {
		t.Fatal("first call refused")
	}
	if res, _ := lim.Allow(ctx, "r", limit); res.Allowed {
		t.Fatal("second call allowed")
	}
	if err := lim.Reset(ctx, "r"); err != nil {
		t.Fatal(err)
	}
	if res, _ := lim.Allow(ctx, "r", limit); !res.Allowed {
		t.Error("call after Reset refused")
	}
}

func TestAllowEndedContext(t *testing.T) {
	lim := newRedisLimiter(t, testConfig(t))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := lim.Allow(ctx, "ended", PerSecond(1, 1)); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	if got := testCounter(t, lim.m.redisErrors); got != 0 {
		t.Errorf("a cancelled caller counted as %v redis errors", got)
	}
}
