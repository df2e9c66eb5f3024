package ratelimit

import (
	"fmt"
	"time"

	"github.com/agenttrace/agenttrace/pkg/config"
)

// Config is the rate limiting configuration services embed; variables are
// AGENTTRACE_-prefixed. Each limit is a rate (calls per second) and a burst
// (0 means equal to the rate); a rate of 0 disables that limit.
type Config struct {
	// Enabled turns the gRPC interceptors on. Allow works either way.
	Enabled bool `env:"RATELIMIT_ENABLED" envDefault:"true"`

	RedisAddr     string        `env:"REDIS_ADDR" envDefault:"127.0.0.1:6379"`
	RedisPassword config.Secret `env:"REDIS_PASSWORD"`
	RedisDB       int           `env:"REDIS_DB"`
	// RedisTimeout bounds one decision's wait for Redis (and the dial);
	// past it the local limiter decides. It is on every limited call's path.
	RedisTimeout time.Duration `env:"REDIS_TIMEOUT" envDefault:"50ms"`
	// RedisRetryInterval is how long local limits stay in force after a
	// Redis failure before Redis is tried again.
	RedisRetryInterval time.Duration `env:"REDIS_RETRY_INTERVAL" envDefault:"1s"`
	// KeyPrefix namespaces every key this limiter writes in Redis.
	KeyPrefix string `env:"RATELIMIT_KEY_PREFIX" envDefault:"agenttrace:"`

	IngestProjectRate  int `env:"RATELIMIT_INGEST_PROJECT_RATE" envDefault:"1000"`
	IngestProjectBurst int `env:"RATELIMIT_INGEST_PROJECT_BURST" envDefault:"2000"`
	IngestKeyRate      int `env:"RATELIMIT_INGEST_KEY_RATE" envDefault:"500"`
	IngestKeyBurst     int `env:"RATELIMIT_INGEST_KEY_BURST" envDefault:"1000"`
	QueryProjectRate   int `env:"RATELIMIT_QUERY_PROJECT_RATE" envDefault:"200"`
	QueryProjectBurst  int `env:"RATELIMIT_QUERY_PROJECT_BURST" envDefault:"400"`
	QueryKeyRate       int `env:"RATELIMIT_QUERY_KEY_RATE" envDefault:"100"`
	QueryKeyBurst      int `env:"RATELIMIT_QUERY_KEY_BURST" envDefault:"200"`
}

// Limits are the per-call limits the interceptors apply.
type Limits struct {
	IngestProject, IngestKey Limit
	QueryProject, QueryKey   Limit
}

// Limits returns the configured per-call limits.
func (c Config) Limits() Limits {
	return Limits{
		IngestProject: PerSecond(c.IngestProjectRate, c.IngestProjectBurst),
		IngestKey:     PerSecond(c.IngestKeyRate, c.IngestKeyBurst),
		QueryProject:  PerSecond(c.QueryProjectRate, c.QueryProjectBurst),
		QueryKey:      PerSecond(c.QueryKeyRate, c.QueryKeyBurst),
	}
}

// Validate rejects settings the limiter cannot run with.
func (c Config) Validate() error {
	if c.RedisTimeout <= 0 {
		return fmt.Errorf("AGENTTRACE_REDIS_TIMEOUT must be positive, got %v", c.RedisTimeout)
	}
	if c.RedisRetryInterval <= 0 {
		return fmt.Errorf("AGENTTRACE_REDIS_RETRY_INTERVAL must be positive, got %v", c.RedisRetryInterval)
	}
	for _, v := range []struct {
		name  string
		value int
	}{
		{"RATELIMIT_INGEST_PROJECT_RATE", c.IngestProjectRate},
		{"RATELIMIT_INGEST_PROJECT_BURST", c.IngestProjectBurst},
		{"RATELIMIT_INGEST_KEY_RATE", c.IngestKeyRate},
		{"RATELIMIT_INGEST_KEY_BURST", c.IngestKeyBurst},
		{"RATELIMIT_QUERY_PROJECT_RATE", c.QueryProjectRate},
		{"RATELIMIT_QUERY_PROJECT_BURST", c.QueryProjectBurst},
		{"RATELIMIT_QUERY_KEY_RATE", c.QueryKeyRate},
		{"RATELIMIT_QUERY_KEY_BURST", c.QueryKeyBurst},
	} {
		if v.value < 0 {
			return fmt.Errorf("%s%s must not be negative, got %d", config.Prefix, v.name, v.value)
		}
	}
	return nil
}
