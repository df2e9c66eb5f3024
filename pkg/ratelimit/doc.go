// Package ratelimit enforces request rate limits kept in Redis, shared by
// every replica of a service.
//
// Limits use GCRA (the generic cell rate algorithm, via
// github.com/go-redis/redis_rate): a Limit allows Rate events per Period on
// average and up to Burst at once. A key's whole state is one Redis value
// holding its theoretical arrival time, so a decision is one script call
// and replicas agree without coordination.
//
// # Generic use
//
// Any caller can limit anything by key, for example login attempts:
//
//	lim, err := ratelimit.New(cfg.RateLimit, log)
//	...
//	res, err := lim.Allow(ctx, "login:account:"+email, ratelimit.Limit{Rate: 5, Burst: 5, Period: time.Minute})
//	if err != nil { return err }          // only the caller's context ended
//	if !res.Allowed { wait res.RetryAfter } // Remaining, ResetAfter describe the bucket
//
// Keys are namespaced under Config.KeyPrefix; callers should start them
// with what they limit ("login:address:...") so that limits never share
// a bucket by accident. A Limit with Rate 0 is disabled: Allow always allows.
//
// # gRPC calls
//
// Interceptors (installed after authentication) limit ingestion
// (IngestService, OTLP TraceService/Export) and queries (QueryService)
// separately, per project and per API key (per user for user tokens).
// Allowed calls carry x-ratelimit-limit, x-ratelimit-remaining and
// x-ratelimit-reset (seconds) header metadata describing the tightest limit;
// refused calls fail with ResourceExhausted, an errdetails.RetryInfo, the
// same headers and retry-after. The gateway maps these to HTTP 429,
// Retry-After and X-RateLimit-*.
//
// # When Redis is down
//
// The limiter serves with local limits: each decision that Redis cannot
// answer within Config.RedisTimeout (50 ms by default) is made by an
// in-process token bucket with the same rate and burst (golang.org/x/time/rate).
// Local limits are per replica, so the fleet as a whole admits up to
// replicas × the limit; that is the price of staying available. After a
// failure the limiter skips Redis for Config.RedisRetryInterval, so an
// unreachable Redis costs no request more than one timeout per interval,
// then tries again and returns to shared limits by itself. Failures are
// counted in agenttrace_ratelimit_redis_errors_total and logged once per
// outage, never per request. Allow never fails because of Redis, and Redis
// is deliberately no readiness check: a replica without it still serves.
package ratelimit
