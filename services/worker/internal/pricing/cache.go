package pricing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
)

// Source lists every price of every project (PricingService.ListModelPrices
// with all_projects).
type Source interface {
	ModelPrices(ctx context.Context) ([]*authv1.ModelPrice, error)
}

// Config tunes the cache; the env tag is read with the AGENTTRACE_ prefix.
type Config struct {
	// Refresh is how often the table is reloaded from auth, and so how long
	// a price change takes to reach costs; 0 disables cost computation.
	Refresh time.Duration `env:"WORKER_PRICES_REFRESH" envDefault:"1m"`
	// FirstLoadWait is how long the consumer waits at start for the first
	// table before it consumes without one: generations stored before the
	// table loads keep no computed cost for good, so it is worth waiting
	// for auth briefly (it usually starts alongside the worker).
	FirstLoadWait time.Duration `env:"WORKER_PRICES_FIRST_LOAD_WAIT" envDefault:"30s"`
}

// Validate reports settings the cache cannot run with.
func (c Config) Validate() error {
	if c.Refresh < 0 {
		return fmt.Errorf("WORKER_PRICES_REFRESH must not be negative, got %s", c.Refresh)
	}
	if c.FirstLoadWait < 0 {
		return fmt.Errorf("WORKER_PRICES_FIRST_LOAD_WAIT must not be negative, got %s", c.FirstLoadWait)
	}
	return nil
}

// Enabled says whether costs are computed at all.
func (c Config) Enabled() bool { return c.Refresh > 0 }

// firstLoadRetry is how soon a worker that has no table yet tries again:
// until the first load, every generation goes unpriced.
const firstLoadRetry = time.Second

// Cache holds the latest price table loaded from a Source.
type Cache struct {
	src     Source
	log     *slog.Logger
	metrics *Metrics
	refresh time.Duration
	table   atomic.Pointer[Table]

	loadedOnce sync.Once
	loaded     chan struct{} // closed by the first successful Load
}

// NewCache returns an empty cache over src; Run fills it.
func NewCache(src Source, log *slog.Logger, m *Metrics, cfg Config) *Cache {
	return &Cache{src: src, log: log, metrics: m, refresh: cfg.Refresh, loaded: make(chan struct{})}
}

// WaitLoaded waits up to d for the first table; it reports whether one is
// loaded.
func (c *Cache) WaitLoaded(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-c.loaded:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return c.Table() != nil
}

// Check backs /ready: not ready until the first table has loaded.
func (c *Cache) Check(context.Context) error {
	if c.Table() == nil {
		return errors.New("model prices not loaded yet")
	}
	return nil
}

// Table is the latest table loaded, nil before the first load succeeded.
func (c *Cache) Table() *Table { return c.table.Load() }

// Load fetches and compiles the table and, on success, makes it current.
// On failure the previous table stays in use.
func (c *Cache) Load(ctx context.Context) error {
	prices, err := c.src.ModelPrices(ctx)
	if err != nil {
		c.metrics.refreshes.WithLabelValues(refreshFailed).Inc()
		return fmt.Errorf("load model prices: %w", err)
	}
	t, skipped := NewTable(prices)
	for _, p := range skipped {
		c.log.ErrorContext(ctx, "model price skipped: invalid pattern or start time", "price_id", p.GetId(), "model_name", p.GetModelName())
	}
	c.table.Store(t)
	c.loadedOnce.Do(func() { close(c.loaded) })
	c.metrics.refreshes.WithLabelValues(refreshLoaded).Inc()
	c.metrics.prices.Set(float64(t.Len()))
	return nil
}

// Run loads the table now and then every refresh interval until ctx ends,
// retrying sooner while it has never loaded one.
func (c *Cache) Run(ctx context.Context) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		next := c.refresh
		if err := c.Load(ctx); err != nil && ctx.Err() == nil {
			if c.Table() == nil {
				next = min(next, firstLoadRetry)
				c.log.WarnContext(ctx, "model prices unavailable; generations are stored without computed costs until they load", "retry_in", next, "err", err)
			} else {
				c.log.WarnContext(ctx, "model prices refresh failed; using the last table", "retry_in", next, "err", err)
			}
		}
		timer.Reset(next)
	}
}
