package app

import (
	"github.com/agenttrace/agenttrace/pkg/authn"
	"github.com/agenttrace/agenttrace/pkg/clickhousedb"
	"github.com/agenttrace/agenttrace/pkg/config"
	"github.com/agenttrace/agenttrace/pkg/ratelimit"
	"github.com/agenttrace/agenttrace/pkg/stream"
)

// Config is the query service's configuration (AGENTTRACE_* variables).
type Config struct {
	config.Base
	ClickHouse clickhousedb.Config
	// NATS carries only the revocation notices that evict cached keys.
	NATS stream.Config
	// Auth is how API keys are validated.
	Auth authn.ClientConfig
	// RateLimit limits calls per project and per key (in Redis).
	RateLimit ratelimit.Config
}

// DefaultConfig is the configuration before the environment is applied:
// query's port defaults (the rest come from envDefault tags).
func DefaultConfig() Config {
	return Config{Base: config.Base{GRPCAddr: ":9082", AdminAddr: ":9182"}}
}
