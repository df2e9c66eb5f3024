// Package retry runs an operation again after failures that time may cure: a
// store still starting, a name not yet in DNS, a port not yet open. Every
// connect-retry in the services goes through it, so they all back off the
// same way and stop on the same kinds of errors.
package retry

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Policy says how long to pause between attempts and which failures are
// worth another attempt.
type Policy struct {
	// First is the pause after the first failure; it doubles with every
	// further failure up to Max.
	First, Max time.Duration
	// Retryable reports whether waiting may cure err; nil retries every
	// error. The first error it refuses is returned as it is.
	Retryable func(err error) bool
	// OnRetry, when set, is told of every failure that will be retried,
	// before the pause.
	OnRetry func(attempt int, err error, pause time.Duration)
}

// Pause is the pause after the given failed attempt (counted from 1).
func (p Policy) Pause(attempt int) time.Duration {
	d := p.First
	for i := 1; i < attempt && d < p.Max; i++ {
		d *= 2
	}
	return min(d, p.Max)
}

// Do calls fn until it succeeds, fails with an error Retryable refuses, or
// ctx ends. When ctx ends first, the error wraps both ctx's error and fn's
// last one, so the caller can tell "gave up" from "failed for good" and still
// say why it gave up.
func (p Policy) Do(ctx context.Context, fn func(ctx context.Context) error) error {
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return giveUp(ctx, attempt, err)
		}
		if p.Retryable != nil && !p.Retryable(err) {
			return err
		}
		pause := p.Pause(attempt)
		if p.OnRetry != nil {
			p.OnRetry(attempt, err, pause)
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return giveUp(ctx, attempt, err)
		case <-t.C:
		}
	}
}

func giveUp(ctx context.Context, attempts int, last error) error {
	return fmt.Errorf("%w after %d attempt(s); last error: %w", ctx.Err(), attempts, last)
}

// StartupPolicy is the backoff of a one-shot command waiting for a store
// that is still starting: about a second at first, never more than five, so
// the command proceeds within seconds of the store answering.
func StartupPolicy(retryable func(error) bool) Policy {
	return Policy{First: time.Second, Max: 5 * time.Second, Retryable: retryable}
}

// Wait is how a one-shot command (`migrate up`) waits for its store: it
// retries what Retryable accepts for at most For, logging each retry at info.
type Wait struct {
	// Store names what is awaited in logs and errors ("PostgreSQL").
	Store string
	// For bounds the whole wait; 0 makes one attempt, as without waiting.
	For time.Duration
	// Setting names the variable that sets For, for the give-up message.
	Setting string
	// Retryable classifies failures; see Policy.Retryable.
	Retryable func(error) bool
	Log       *slog.Logger
}

// Do runs fn under the wait. fn's context carries the wait's deadline, so a
// connection attempt does not outlive it.
func (w Wait) Do(ctx context.Context, fn func(ctx context.Context) error) error {
	if w.For <= 0 {
		return fn(ctx)
	}
	waitCtx, cancel := context.WithTimeout(ctx, w.For)
	defer cancel()
	p := StartupPolicy(w.Retryable)
	p.OnRetry = func(attempt int, err error, pause time.Duration) {
		w.Log.InfoContext(ctx, "store not reachable yet; retrying",
			"store", w.Store, "attempt", attempt, "retry_in", pause, "reason", err.Error())
	}
	err := p.Do(waitCtx, fn)
	if err != nil && waitCtx.Err() != nil && ctx.Err() == nil {
		// The wait ran out, not the caller's context: say which wait.
		return fmt.Errorf("%s still not reachable after waiting %s (%s): %w", w.Store, w.For, w.Setting, err)
	}
	return err
}
