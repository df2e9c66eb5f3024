// Package lastused records when API keys were last used without putting a
// database write on the validation path: uses are noted in memory, at most
// once per key per interval, and written in one batch by a background loop.
package lastused

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Writer stores last-use times; a tenancy.Store's TouchAPIKeys.
type Writer func(ctx context.Context, uses map[uuid.UUID]time.Time) error

// Config tunes a Tracker.
type Config struct {
	Write Writer
	// Log receives write failures; slog.Default() at the time when nil.
	Log *slog.Logger
	// Granularity is the least time between two recorded uses of one key
	// (a minute: last_used_at is for humans spotting dead keys).
	Granularity time.Duration
	// FlushEvery is how often pending uses are written.
	FlushEvery time.Duration
	// FinalFlushTimeout bounds the write at shutdown.
	FinalFlushTimeout time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Tracker collects key uses; Run writes them.
type Tracker struct {
	cfg Config

	mu       sync.Mutex
	recorded map[uuid.UUID]time.Time // last use that was queued, per key
	pending  map[uuid.UUID]time.Time // uses not yet written
}

// New builds a Tracker; zero durations get sensible defaults.
func New(cfg Config) *Tracker {
	if cfg.Granularity <= 0 {
		cfg.Granularity = time.Minute
	}
	if cfg.FlushEvery <= 0 {
		cfg.FlushEvery = 5 * time.Second
	}
	if cfg.FinalFlushTimeout <= 0 {
		cfg.FinalFlushTimeout = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Tracker{cfg: cfg, recorded: map[uuid.UUID]time.Time{}, pending: map[uuid.UUID]time.Time{}}
}

// Record notes that keyID was used now. It never blocks on I/O.
func (t *Tracker) Record(keyID uuid.UUID) {
	now := t.cfg.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if last, ok := t.recorded[keyID]; ok && now.Sub(last) < t.cfg.Granularity {
		return
	}
	t.recorded[keyID] = now
	t.pending[keyID] = now
}

// Run writes pending uses every FlushEvery until ctx ends, then writes what
// is left once more and returns.
func (t *Tracker) Run(ctx context.Context) error {
	tick := time.NewTicker(t.cfg.FlushEvery)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			t.Flush(ctx)
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), t.cfg.FinalFlushTimeout)
			t.Flush(final)
			cancel()
			return nil
		}
	}
}

// Flush writes the pending uses now. On failure they stay pending for the
// next flush (keeping the newest time per key), so a database blip loses
// nothing and memory stays bounded by the number of keys.
func (t *Tracker) Flush(ctx context.Context) {
	t.mu.Lock()
	batch := t.pending
	if len(batch) == 0 {
		t.forgetOld()
		t.mu.Unlock()
		return
	}
	t.pending = map[uuid.UUID]time.Time{}
	t.forgetOld()
	t.mu.Unlock()

	if err := t.cfg.Write(ctx, batch); err != nil {
		log := t.cfg.Log
		if log == nil {
			log = slog.Default()
		}
		log.WarnContext(ctx, "cannot record api key use; will retry", "keys", len(batch), "err", err)
		t.mu.Lock()
		for id, at := range batch {
			if cur, ok := t.pending[id]; !ok || at.After(cur) {
				t.pending[id] = at
			}
		}
		t.mu.Unlock()
	}
}

// forgetOld drops keys whose granularity window has passed, so that the map
// holds only keys used recently. Called with mu held.
func (t *Tracker) forgetOld() {
	now := t.cfg.Now()
	for id, at := range t.recorded {
		if now.Sub(at) >= t.cfg.Granularity {
			delete(t.recorded, id)
		}
	}
}
