package service

import (
	"context"
	"sync"
	"time"
)

// CachePassing wraps a check that is costly or chatty to run on every probe
// (a schema version read): once fn passes, it passes again without calling
// fn for ttl. A failure is never cached, so readiness turns true as soon as
// fn passes, while a regression shows within ttl.
func CachePassing(fn Check, ttl time.Duration) Check {
	return cachePassing(fn, ttl, time.Now)
}

func cachePassing(fn Check, ttl time.Duration, now func() time.Time) Check {
	var (
		mu       sync.Mutex
		passedAt time.Time // zero: not passed, or passed too long ago
	)
	return func(ctx context.Context) error {
		mu.Lock()
		fresh := !passedAt.IsZero() && now().Sub(passedAt) < ttl
		mu.Unlock()
		if fresh {
			return nil
		}
		err := fn(ctx)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			passedAt = time.Time{}
			return err
		}
		passedAt = now()
		return nil
	}
}
