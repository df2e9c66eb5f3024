package app

import (
	"fmt"
	"time"

	"github.com/agenttrace/agenttrace/pkg/authn"
	"github.com/agenttrace/agenttrace/pkg/clickhousedb"
	"github.com/agenttrace/agenttrace/pkg/config"
	"github.com/agenttrace/agenttrace/pkg/jwtkeys"
	"github.com/agenttrace/agenttrace/pkg/stream"
	"github.com/agenttrace/agenttrace/services/worker/internal/consumer"
	"github.com/agenttrace/agenttrace/services/worker/internal/pricing"
	"github.com/agenttrace/agenttrace/services/worker/internal/retention"
	"github.com/agenttrace/agenttrace/services/worker/internal/rollup"
)

// Config is the worker's whole configuration, read from AGENTTRACE_* variables.
type Config struct {
	config.Base
	Stream     stream.Config
	ClickHouse clickhousedb.Config
	// Auth is how API keys are validated on the worker's gRPC server.
	Auth   authn.ClientConfig
	Worker consumer.Config
	// Retention schedules the retention job.
	Retention retention.Config
	// Rollup schedules the metrics rollup job.
	Rollup rollup.Config
	// Prices schedules the reloads of the model price table from which
	// the worker computes costs.
	Prices pricing.Config
	// JWT signs the service tokens with which the retention job and the
	// price table loads call auth. Required by serve while either is
	// enabled.
	JWT jwtkeys.Config
	// MutationWait bounds how long a deletion (request or retention) waits
	// for ClickHouse to finish applying it before the worker moves on; the
	// deletion completes in the background regardless. 0: do not wait.
	MutationWait time.Duration `env:"WORKER_MUTATION_WAIT" envDefault:"10s"`
	// MigrateWait is how long `migrate up` waits for ClickHouse to answer,
	// retrying only failures that waiting can cure (nothing listening yet,
	// timeouts); 0 tries once. In a cluster the migration Job starts
	// together with ClickHouse.
	MigrateWait time.Duration `env:"MIGRATE_WAIT" envDefault:"0s"`
}

// DefaultConfig is the configuration before the environment is applied:
// the worker's port defaults (the rest come from envDefault tags).
func DefaultConfig() Config {
	return Config{Base: config.Base{GRPCAddr: ":9084", AdminAddr: ":9184"}}
}

// validateMutationWait keeps the wait inside the consumer's ack wait, so
// that waiting never causes a redelivery.
func (c Config) validateMutationWait() error {
	if c.MutationWait < 0 || c.MutationWait >= c.Worker.AckWait/2 {
		return fmt.Errorf("WORKER_MUTATION_WAIT must be between 0 and half of WORKER_ACK_WAIT (%s), got %s", c.Worker.AckWait, c.MutationWait)
	}
	return nil
}
