// Package lease lets one worker replica at a time run a periodic job,
// through a NATS key-value bucket whose entries expire: whoever creates the
// job's key first holds the lease until the entry ages out. Nobody releases
// a lease early, so it also spaces the runs: with a TTL just under the
// job's interval, the job runs about once per interval however many
// replicas tick.
package lease

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/agenttrace/agenttrace/pkg/stream"
)

// BucketName is the worker's lease bucket in the namespace of cfg
// ("AGENTTRACE_WORKER_LEASES" by default); its stream is "KV_" + the name.
func BucketName(cfg stream.Config) string {
	return strings.TrimSuffix(cfg.EventsStream(), "_EVENTS") + "_WORKER_LEASES"
}

// Config names the bucket and key of one lease.
type Config struct {
	// Bucket is the key-value bucket, created when missing.
	Bucket string
	// Key is the job's key in the bucket.
	Key string
	// TTL is how long a lease is held.
	TTL time.Duration
	// Replicas of the bucket's stream.
	Replicas int
	// Holder is written as the value, to tell who holds the lease.
	Holder string
}

// Lease is a NATS-backed lease. The bucket is created on first use, so the
// worker can start before NATS is up.
type Lease struct {
	js  jetstream.JetStream
	cfg Config

	mu sync.Mutex
	kv jetstream.KeyValue
}

// New returns a lease in js; it does not contact the server yet.
func New(js jetstream.JetStream, cfg Config) (*Lease, error) {
	if cfg.Bucket == "" || cfg.Key == "" || cfg.TTL <= 0 {
		return nil, fmt.Errorf("lease needs a bucket, a key and a positive TTL, got %+v", cfg)
	}
	return &Lease{js: js, cfg: cfg}, nil
}

// Acquire returns true when this caller now holds the lease, false when
// someone holds it already.
func (l *Lease) Acquire(ctx context.Context) (bool, error) {
	kv, err := l.bucket(ctx)
	if err != nil {
		return false, err
	}
	_, err = kv.Create(ctx, l.cfg.Key, []byte(l.cfg.Holder))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, jetstream.ErrKeyExists):
		return false, nil
	}
	return false, fmt.Errorf("create lease key %s: %w", l.cfg.Key, err)
}

func (l *Lease) bucket(ctx context.Context) (jetstream.KeyValue, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.kv != nil {
		return l.kv, nil
	}
	kv, err := l.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      l.cfg.Bucket,
		Description: "AgentTrace worker leases: one replica runs each periodic job",
		History:     1,
		TTL:         l.cfg.TTL,
		Storage:     jetstream.FileStorage,
		Replicas:    max(l.cfg.Replicas, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("declare lease bucket %s: %w", l.cfg.Bucket, err)
	}
	l.kv = kv
	return kv, nil
}

// Every runs a periodic job's loop: run at once, then every interval until
// ctx ends. A failed run is logged (as what failed) and tried again at the
// next tick; the lease, if the job takes one, is run's to acquire.
func Every(ctx context.Context, interval time.Duration, log *slog.Logger, what string, run func(context.Context) error) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := run(ctx); err != nil && ctx.Err() == nil {
			log.WarnContext(ctx, what+" failed; retrying next interval", "retry_in", interval, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
