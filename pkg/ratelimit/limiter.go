package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Limiter makes rate limit decisions in Redis, falling back to in-process
// limits while Redis is unavailable. It is safe for concurrent use.
type Limiter struct {
	cfg    Config
	limits Limits
	log    *slog.Logger
	rdb    *redis.Client
	gcra   *redis_rate.Limiter
	local  *localLimiters
	m      *metrics

	// skipUntil (unix nanoseconds) is when Redis is worth trying again
	// after a failure; up is whether the last attempt succeeded, so that
	// an outage is logged once when it starts and once when it ends.
	skipUntil atomic.Int64
	up        atomic.Bool
}

// New builds a limiter for cfg. It does not contact Redis: a Redis that is
// down at start is handled like one that goes down later. A nil log means
// slog.Default() at the time of logging, so a limiter built before the
// service shell logs through the shell's logger.
func New(cfg Config, log *slog.Logger) (*Limiter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rdb := redis.NewClient(&redis.Options{
		Addr:     cfg.RedisAddr,
		Password: cfg.RedisPassword.Value(),
		DB:       cfg.RedisDB,
		// Every wait is bounded by the decision budget; a retry would
		// not fit in it, and the local limiter is the better retry.
		DialTimeout:           cfg.RedisTimeout,
		ReadTimeout:           cfg.RedisTimeout,
		WriteTimeout:          cfg.RedisTimeout,
		PoolTimeout:           cfg.RedisTimeout,
		ContextTimeoutEnabled: true,
		MaxRetries:            -1,
		DialerRetries:         1,
		// Maintenance notifications are a Redis Cloud feature; probing for
		// them costs a round trip on every new connection.
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
	l := &Limiter{
		cfg:    cfg,
		limits: cfg.Limits(),
		log:    log,
		rdb:    rdb,
		gcra:   redis_rate.NewLimiter(rdb),
		local:  newLocalLimiters(),
		m:      newMetrics(),
	}
	l.up.Store(true)
	l.m.redisUp.Set(1)
	return l, nil
}

// Allow decides whether one event under key may happen now within limit.
// It fails only when ctx has ended; Redis errors make it decide locally
// (Result.Local) instead.
func (l *Limiter) Allow(ctx context.Context, key string, limit Limit) (Result, error) {
	if limit.Disabled() {
		return Result{Limit: limit, Allowed: true}, nil
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	limit = limit.normalized()
	now := time.Now()
	if now.UnixNano() >= l.skipUntil.Load() {
		res, err := l.allowRedis(ctx, key, limit)
		if err == nil {
			l.redisRecovered(ctx)
			return res, nil
		}
		if ctx.Err() != nil {
			// The caller gave up; that says nothing about Redis.
			return Result{}, ctx.Err()
		}
		l.redisFailed(ctx, err, now)
	}
	return l.local.allow(l.cfg.KeyPrefix+key, limit, now), nil
}

func (l *Limiter) allowRedis(ctx context.Context, key string, limit Limit) (Result, error) {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.RedisTimeout)
	defer cancel()
	r, err := l.gcra.Allow(ctx, l.cfg.KeyPrefix+key, redis_rate.Limit{
		Rate: limit.Rate, Burst: limit.Burst, Period: limit.Period,
	})
	if err != nil {
		return Result{}, fmt.Errorf("rate limit in redis: %w", err)
	}
	res := Result{
		Limit:      limit,
		Allowed:    r.Allowed > 0,
		Remaining:  max(r.Remaining, 0),
		ResetAfter: max(r.ResetAfter, 0),
	}
	if !res.Allowed {
		// The script reports -1 for "now"; a refusal always has a wait.
		res.RetryAfter = max(r.RetryAfter, time.Millisecond)
	}
	return res, nil
}

func (l *Limiter) redisFailed(ctx context.Context, err error, now time.Time) {
	l.skipUntil.Store(now.Add(l.cfg.RedisRetryInterval).UnixNano())
	l.m.redisErrors.Inc()
	if l.up.Swap(false) {
		l.m.redisUp.Set(0)
		l.logger().WarnContext(ctx, "redis unavailable; rate limits are local to this replica until it is back",
			"addr", l.cfg.RedisAddr, "retry_interval", l.cfg.RedisRetryInterval, "err", err)
	}
}

func (l *Limiter) redisRecovered(ctx context.Context) {
	if !l.up.Swap(true) {
		l.m.redisUp.Set(1)
		l.logger().InfoContext(ctx, "redis available again; rate limits are shared", "addr", l.cfg.RedisAddr)
	}
}

func (l *Limiter) logger() *slog.Logger {
	if l.log != nil {
		return l.log
	}
	return slog.Default()
}

// Reset forgets key's history, in Redis and locally, so its next event
// starts from a full bucket (after a successful login, say).
func (l *Limiter) Reset(ctx context.Context, key string) error {
	l.local.reset(l.cfg.KeyPrefix + key)
	ctx, cancel := context.WithTimeout(ctx, l.cfg.RedisTimeout)
	defer cancel()
	if err := l.gcra.Reset(ctx, l.cfg.KeyPrefix+key); err != nil {
		return fmt.Errorf("reset rate limit in redis: %w", err)
	}
	return nil
}

// Close releases the Redis connections; it fits Shell.OnClose.
func (l *Limiter) Close(context.Context) error {
	if err := l.rdb.Close(); err != nil && !errors.Is(err, redis.ErrClosed) {
		return fmt.Errorf("close redis: %w", err)
	}
	return nil
}
