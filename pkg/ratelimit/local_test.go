package ratelimit

import (
	"testing"
	"time"
)

func TestLocalLimiter(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	limit := PerSecond(10, 2).normalized() // a token every 100 ms
	tests := []struct {
		name      string
		at        time.Duration // since t0
		allowed   bool
		remaining int
		retry     time.Duration
	}{
		{"burst 1", 0, true, 1, 0},
		{"burst 2", 0, true, 0, 0},
		{"empty", 0, false, 0, 100 * time.Millisecond},
		{"half refilled", 50 * time.Millisecond, false, 0, 50 * time.Millisecond},
		{"refilled one", 100 * time.Millisecond, true, 0, 0},
		{"full again", time.Second, true, 1, 0},
	}
	ls := newLocalLimiters()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := ls.allow("k", limit, t0.Add(tt.at))
			if res.Allowed != tt.allowed || res.Remaining != tt.remaining || !res.Local {
				t.Errorf("got %+v, want allowed=%v remaining=%d local", res, tt.allowed, tt.remaining)
			}
			if d := res.RetryAfter - tt.retry; d < -time.Millisecond || d > time.Millisecond {
				t.Errorf("RetryAfter %v, want %v", res.RetryAfter, tt.retry)
			}
			if res.ResetAfter < 0 || res.ResetAfter > 200*time.Millisecond {
				t.Errorf("ResetAfter %v outside [0, 200ms]", res.ResetAfter)
			}
		})
	}
}

func TestLocalLimiterNewLimitStartsFresh(t *testing.T) {
	ls := newLocalLimiters()
	now := time.Unix(1_700_000_000, 0)
	if !ls.allow("k", PerSecond(1, 1).normalized(), now).Allowed {
		t.Fatal("first call refused")
	}
	if ls.allow("k", PerSecond(1, 1).normalized(), now).Allowed {
		t.Fatal("second call allowed")
	}
	// A reconfigured limit must not keep the old bucket's state or rate.
	if !ls.allow("k", PerSecond(5, 5).normalized(), now).Allowed {
		t.Error("call under a new limit refused")
	}
}

func TestLocalLimiterSweepsFullBuckets(t *testing.T) {
	ls := newLocalLimiters()
	now := time.Unix(1_700_000_000, 0)
	limit := Limit{Rate: 1, Burst: 1, Period: time.Hour}.normalized()
	ls.allow("idle", PerSecond(1, 1).normalized(), now)
	ls.allow("busy", limit, now)
	// A minute later "idle" has refilled and goes; "busy" needs an hour.
	ls.allow("new", PerSecond(1, 1).normalized(), now.Add(sweepEvery))
	if _, ok := ls.buckets["idle"]; ok || ls.len() != 2 {
		t.Errorf("after the sweep: %d buckets, idle kept=%v; want busy and new", ls.len(), ok)
	}
	ls.reset("busy")
	if _, ok := ls.buckets["busy"]; ok {
		t.Error("reset kept the bucket")
	}
}
