package identity

import (
	"context"
	"time"

	"github.com/agenttrace/agenttrace/pkg/ratelimit"
)

// Keys of the attempt limits. The email is already normalized; neither key
// is ever logged by this package.
func accountKey(email string) string   { return "login:account:" + email }
func addressKey(address string) string { return "login:address:" + address }

// limit asks l (nil allows everything) about key. A limiter that cannot
// decide lets the attempt through: the password hash's cost and the other
// limit still stand, and refusing every login while Redis is down would
// lock everyone out. (pkg/ratelimit never fails for Redis reasons anyway; it
// falls back to per-replica limits.)
func (s *Service) limit(ctx context.Context, l AttemptLimiter, key, what string) error {
	if l == nil {
		return nil
	}
	ok, retryAfter, err := l.Allow(ctx, key)
	switch {
	case err != nil && ctx.Err() != nil:
		return ctx.Err()
	case err != nil:
		s.log.WarnContext(ctx, "attempt limiter failed; allowing the attempt", "limit", what, "err", err)
		return nil
	case !ok:
		s.log.InfoContext(ctx, "attempt refused by limiter", "limit", what, "retry_after", retryAfter)
		return &RateLimitError{RetryAfter: retryAfter}
	}
	return nil
}

// RedisLimiter is an AttemptLimiter over pkg/ratelimit (Redis GCRA, shared by
// every replica).
type RedisLimiter struct {
	Limiter *ratelimit.Limiter
	Limit   ratelimit.Limit
}

// Allow implements AttemptLimiter.
func (r RedisLimiter) Allow(ctx context.Context, key string) (bool, time.Duration, error) {
	res, err := r.Limiter.Allow(ctx, key, r.Limit)
	if err != nil {
		return false, 0, err
	}
	return res.Allowed, res.RetryAfter, nil
}

// LimitConfig is the login attempt limits (AGENTTRACE_LOGIN_*). GCRA: each
// key may make Attempts attempts at once, then one more every
// Period/Attempts. 0 attempts disables a limit.
type LimitConfig struct {
	AccountAttempts int           `env:"LOGIN_ACCOUNT_ATTEMPTS" envDefault:"10"`
	AddressAttempts int           `env:"LOGIN_ADDRESS_ATTEMPTS" envDefault:"100"`
	Period          time.Duration `env:"LOGIN_LIMIT_PERIOD" envDefault:"15m"`
}

// Limits returns the account and address limits.
func (c LimitConfig) Limits() (account, address ratelimit.Limit) {
	return ratelimit.Limit{Rate: c.AccountAttempts, Burst: c.AccountAttempts, Period: c.Period},
		ratelimit.Limit{Rate: c.AddressAttempts, Burst: c.AddressAttempts, Period: c.Period}
}
