package ratelimit

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// sweepEvery is how often idle local buckets are dropped.
const sweepEvery = time.Minute

// localLimiters are the per-replica token buckets used while Redis is
// unavailable, one per key and limit.
type localLimiters struct {
	mu        sync.Mutex
	buckets   map[string]*localBucket
	nextSweep time.Time
}

type localBucket struct {
	limit Limit
	tb    *rate.Limiter
}

func newLocalLimiters() *localLimiters {
	return &localLimiters{buckets: make(map[string]*localBucket)}
}

// allow decides one event for key under limit (normalized, enabled) at now.
func (ls *localLimiters) allow(key string, limit Limit, now time.Time) Result {
	perSecond := float64(limit.Rate) / limit.Period.Seconds()

	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.sweep(now)
	b, ok := ls.buckets[key]
	if !ok || b.limit != limit {
		b = &localBucket{limit: limit, tb: rate.NewLimiter(rate.Limit(perSecond), limit.Burst)}
		ls.buckets[key] = b
	}
	allowed := b.tb.AllowN(now, 1)
	tokens := b.tb.TokensAt(now)
	res := Result{
		Limit:      limit,
		Allowed:    allowed,
		Remaining:  max(int(tokens), 0),
		ResetAfter: seconds((float64(limit.Burst) - tokens) / perSecond),
		Local:      true,
	}
	if !allowed {
		res.RetryAfter = max(seconds((1-tokens)/perSecond), time.Millisecond)
	}
	return res
}

func (ls *localLimiters) reset(key string) {
	ls.mu.Lock()
	delete(ls.buckets, key)
	ls.mu.Unlock()
}

// sweep drops buckets that have refilled: a full bucket behaves exactly
// like a new one, so keeping it only costs memory.
func (ls *localLimiters) sweep(now time.Time) {
	if now.Before(ls.nextSweep) {
		return
	}
	ls.nextSweep = now.Add(sweepEvery)
	for k, b := range ls.buckets {
		if b.tb.TokensAt(now) >= float64(b.limit.Burst) {
			delete(ls.buckets, k)
		}
	}
}

func (ls *localLimiters) len() int {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return len(ls.buckets)
}

func seconds(s float64) time.Duration {
	if s <= 0 {
		return 0
	}
	return time.Duration(s * float64(time.Second))
}
