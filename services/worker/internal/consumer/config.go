package consumer

import (
	"errors"
	"fmt"
	"time"
)

// Config tunes the consumer; the env tags are read with the AGENTTRACE_ prefix.
type Config struct {
	// Durable is the name of the durable pull consumer on the events stream.
	Durable string `env:"WORKER_CONSUMER" envDefault:"worker"`
	// FetchBatch is how many messages one pull request asks for.
	FetchBatch int `env:"WORKER_FETCH_BATCH" envDefault:"256"`
	// FetchWait is how long a pull request waits for messages; the client
	// ends it by then even when the server's end-of-request status is lost.
	// It bounds how long shutdown waits for the request in flight.
	FetchWait time.Duration `env:"WORKER_FETCH_WAIT" envDefault:"1s"`
	// FlushRows flushes the buffer once it holds this many rows.
	FlushRows int `env:"WORKER_FLUSH_ROWS" envDefault:"50000"`
	// FlushBytes flushes the buffer once its messages hold this many bytes
	// (rows of LLM-sized content reach it long before FlushRows).
	FlushBytes int `env:"WORKER_FLUSH_BYTES" envDefault:"16777216"`
	// FlushInterval flushes the buffer this long after its first row
	// arrived, while the consumer keeps up with the stream.
	FlushInterval time.Duration `env:"WORKER_FLUSH_INTERVAL" envDefault:"200ms"`
	// FlushMaxInterval replaces FlushInterval while the consumer reads a
	// backlog (messages older than FlushMaxInterval with at least
	// FetchBatch more behind them): the rows wait for a fuller buffer,
	// since every insert becomes a part ClickHouse must merge again, and a
	// backlog drains faster in fewer, larger inserts.
	FlushMaxInterval time.Duration `env:"WORKER_FLUSH_MAX_INTERVAL" envDefault:"2s"`
	// InsertConcurrency is how many flushes may be written to ClickHouse at
	// once while the consumer goes on fetching and decoding the next; a
	// flush waits for a free slot, so memory stays bounded.
	InsertConcurrency int `env:"WORKER_INSERT_CONCURRENCY" envDefault:"2"`
	// MaxDeliver is the delivery after whose failure a message is
	// dead-lettered.
	MaxDeliver int `env:"WORKER_MAX_DELIVER" envDefault:"5"`
	// AckWait is how long the server waits for an ack before redelivering;
	// it must cover a flush interval plus a slow insert.
	AckWait time.Duration `env:"WORKER_ACK_WAIT" envDefault:"60s"`
	// MaxAckPending caps unacknowledged messages across all workers; 0
	// derives it from FlushRows, InsertConcurrency and FetchBatch.
	MaxAckPending int `env:"WORKER_MAX_ACK_PENDING"`
	// RetryBackoff is the redelivery delay after a message's first
	// rejection; it doubles with each delivery up to RetryBackoffMax. While
	// the store is away, every message waits the consumer's pause instead:
	// RetryBackoff doubling per failed flush up to 5 s, so the backlog
	// drains within seconds of the store's return.
	RetryBackoff    time.Duration `env:"WORKER_RETRY_BACKOFF" envDefault:"1s"`
	RetryBackoffMax time.Duration `env:"WORKER_RETRY_BACKOFF_MAX" envDefault:"1m"`
	// QueuePoll is how often the queue depth gauge is refreshed.
	QueuePoll time.Duration `env:"WORKER_QUEUE_POLL_INTERVAL" envDefault:"5s"`
}

// Validate reports settings the consumer cannot run with.
func (c Config) Validate() error {
	var errs []error
	if c.Durable == "" {
		errs = append(errs, errors.New("WORKER_CONSUMER is empty"))
	}
	for name, v := range map[string]int{"WORKER_FETCH_BATCH": c.FetchBatch, "WORKER_FLUSH_ROWS": c.FlushRows, "WORKER_MAX_DELIVER": c.MaxDeliver,
		"WORKER_INSERT_CONCURRENCY": c.InsertConcurrency, "WORKER_FLUSH_BYTES": c.FlushBytes,
	} {
		if v < 1 {
			errs = append(errs, fmt.Errorf("%s must be at least 1, got %d", name, v))
		}
	}
	for name, v := range map[string]time.Duration{
		"WORKER_FETCH_WAIT": c.FetchWait, "WORKER_FLUSH_INTERVAL": c.FlushInterval, "WORKER_FLUSH_MAX_INTERVAL": c.FlushMaxInterval, "WORKER_ACK_WAIT": c.AckWait,
		"WORKER_RETRY_BACKOFF": c.RetryBackoff, "WORKER_RETRY_BACKOFF_MAX": c.RetryBackoffMax, "WORKER_QUEUE_POLL_INTERVAL": c.QueuePoll,
	} {
		if v <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive, got %s", name, v))
		}
	}
	if c.MaxAckPending < 0 {
		errs = append(errs, fmt.Errorf("WORKER_MAX_ACK_PENDING must not be negative, got %d", c.MaxAckPending))
	}
	if c.FlushMaxInterval < c.FlushInterval {
		errs = append(errs, fmt.Errorf("WORKER_FLUSH_MAX_INTERVAL (%s) must not be less than WORKER_FLUSH_INTERVAL (%s)", c.FlushMaxInterval, c.FlushInterval))
	}
	if c.AckWait <= max(c.FlushInterval, c.FlushMaxInterval)+c.FetchWait {
		errs = append(errs, fmt.Errorf("WORKER_ACK_WAIT (%s) must exceed WORKER_FLUSH_MAX_INTERVAL + WORKER_FETCH_WAIT", c.AckWait))
	}
	return errors.Join(errs...)
}

// maxAckPending leaves room for two workers each holding a full buffer, a
// full flush in every insert slot and a fetch in flight, so neither the
// pipeline nor a rolling restart's new replica is starved. (A message
// holds at least one row unless it is a deletion, so rows bound messages.)
func (c Config) maxAckPending() int {
	if c.MaxAckPending > 0 {
		return c.MaxAckPending
	}
	return 2 * ((c.InsertConcurrency+1)*c.FlushRows + c.FetchBatch)
}

// backoff is the redelivery delay after the given delivery failed.
func (c Config) backoff(delivered uint64) time.Duration {
	d := c.RetryBackoff
	for i := uint64(1); i < delivered && d < c.RetryBackoffMax; i++ {
		d *= 2
	}
	return min(d, c.RetryBackoffMax)
}
