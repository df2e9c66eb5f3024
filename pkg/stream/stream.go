// Package stream holds the JetStream conventions shared by ingest (which
// publishes) and worker (which consumes): connection settings, stream and
// subject names, and how the streams are declared.
//
// One message carries the accepted events of one ingest request (an
// ingestv1.EventEnvelope in protobuf), published on Config.EventSubject(project).
// Its Nats-Msg-Id is derived from the event ids (see MessageID), so a retried
// request is deduplicated by the stream within DuplicateWindow.
package stream

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/agenttrace/agenttrace/pkg/config"
)

// Headers set on dead letters.
const (
	HeaderDLQReason     = "Agenttrace-Dlq-Reason"
	HeaderDLQSubject    = "Agenttrace-Dlq-Subject"
	HeaderDLQSequence   = "Agenttrace-Dlq-Sequence"
	HeaderDLQDeliveries = "Agenttrace-Dlq-Deliveries"
	HeaderDLQMsgID      = "Agenttrace-Dlq-Msg-Id"
)

// Config is how services reach NATS and shape the streams.
type Config struct {
	// Namespace prefixes every stream and subject name, so that several
	// installations (or test runs) can share one NATS server.
	Namespace string        `env:"NATS_NAMESPACE" envDefault:"agenttrace"`
	URL       string        `env:"NATS_URL" envDefault:"nats://127.0.0.1:4222"`
	User      string        `env:"NATS_USER"`
	Password  config.Secret `env:"NATS_PASSWORD"`
	// Replicas of each stream (1 for a single server, 3 for a cluster).
	Replicas int `env:"NATS_STREAM_REPLICAS" envDefault:"1"`
	// DuplicateWindow is how long a message id is remembered for deduplication.
	DuplicateWindow time.Duration `env:"NATS_DUPLICATE_WINDOW" envDefault:"10m"`
	// MaxBytes caps the events stream; when full, publishes are refused (the
	// client sees 503) rather than old events dropped. -1 is unlimited.
	MaxBytes int64 `env:"NATS_STREAM_MAX_BYTES" envDefault:"-1"`
	// DeadLetterMaxAge is how long dead letters are kept.
	DeadLetterMaxAge time.Duration `env:"NATS_DLQ_MAX_AGE" envDefault:"336h"`
}

// EventsStream holds accepted events until the worker has stored them
// ("AGENTTRACE_EVENTS" in the default namespace).
func (c Config) EventsStream() string { return strings.ToUpper(c.ns()) + "_EVENTS" }

// EventsSubjects is the subject space of EventsStream.
func (c Config) EventsSubjects() string { return c.ns() + ".events.>" }

// EventSubject is the subject a project's events are published on.
func (c Config) EventSubject(projectID string) string { return c.ns() + ".events." + projectID }

// DeadLetterStream keeps messages the worker gave up on, for inspection and replay.
func (c Config) DeadLetterStream() string { return strings.ToUpper(c.ns()) + "_DLQ" }

// DeadLetterSubjects is the subject space of DeadLetterStream.
func (c Config) DeadLetterSubjects() string { return c.ns() + ".dlq.>" }

// DeadLetterSubject is where dead letters of a project's events go.
func (c Config) DeadLetterSubject(projectID string) string { return c.ns() + ".dlq." + projectID }

func (c Config) ns() string {
	if c.Namespace == "" {
		return "agenttrace"
	}
	return c.Namespace
}

// MessageID derives the deduplication id of a message from its project and
// event ids: the event id itself for a single event, else a digest of the
// sorted ids, so the same batch retried maps to the same message whatever
// the order of its events.
//
// The digest length-prefixes every id, so no choice of ids (even ones holding
// separator bytes) can make two different sets hash alike.
func MessageID(projectID string, eventIDs []string) string {
	if len(eventIDs) == 1 {
		return projectID + ":" + eventIDs[0]
	}
	ids := slices.Clone(eventIDs)
	slices.Sort(ids)
	d := NewBatchDigest(projectID)
	for _, id := range ids {
		d.Add([]byte(id))
	}
	return d.MessageID()
}

// BatchDigest computes MessageID of a batch from its ids one by one, for
// callers that hold them in another form than strings: Add each id, in
// sorted order, then MessageID.
type BatchDigest struct {
	project string
	h       hash.Hash
	n       [binary.MaxVarintLen64]byte // here, not on each Add's stack: it escapes into h
}

// NewBatchDigest starts the digest of a batch of projectID.
func NewBatchDigest(projectID string) *BatchDigest {
	d := &BatchDigest{project: projectID, h: sha256.New()}
	d.Add([]byte(projectID))
	return d
}

// Add adds the next id in sorted order.
func (d *BatchDigest) Add(id []byte) {
	d.h.Write(d.n[:binary.PutUvarint(d.n[:], uint64(len(id)))])
	d.h.Write(id)
}

// MessageID is the batch's message id.
func (d *BatchDigest) MessageID() string {
	return d.project + ":batch:" + hex.EncodeToString(d.h.Sum(nil)[:16])
}

// Connect opens a NATS connection that reconnects for ever, and its JetStream context.
func Connect(ctx context.Context, cfg Config, name string) (*nats.Conn, jetstream.JetStream, error) {
	opts := []nats.Option{
		nats.Name("agenttrace-" + name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.RetryOnFailedConnect(true),
		nats.Timeout(5 * time.Second),
	}
	if cfg.User != "" {
		opts = append(opts, nats.UserInfo(cfg.User, cfg.Password.Value()))
	}
	nc, err := nats.Connect(cfg.URL, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("connect nats %s: %w", cfg.URL, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("jetstream: %w", err)
	}
	return nc, js, nil
}

// EnsureStreams declares (or updates) the events and dead-letter streams.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, cfg Config) error {
	replicas := max(cfg.Replicas, 1)
	events := jetstream.StreamConfig{
		Name:        cfg.EventsStream(),
		Description: "Accepted ingestion events awaiting storage in ClickHouse",
		Subjects:    []string{cfg.EventsSubjects()},
		// Work queue: a message is removed once the worker acknowledged it,
		// i.e. once ClickHouse holds its rows.
		Retention:  jetstream.WorkQueuePolicy,
		Storage:    jetstream.FileStorage,
		Replicas:   replicas,
		Duplicates: cfg.DuplicateWindow,
		MaxBytes:   cfg.MaxBytes,
		Discard:    jetstream.DiscardNew,
	}
	dlq := jetstream.StreamConfig{
		Name:        cfg.DeadLetterStream(),
		Description: "Events the worker could not store after repeated attempts",
		Subjects:    []string{cfg.DeadLetterSubjects()},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
		MaxAge:      cfg.DeadLetterMaxAge,
	}
	for _, sc := range []jetstream.StreamConfig{events, dlq} {
		if _, err := js.CreateOrUpdateStream(ctx, sc); err != nil {
			return fmt.Errorf("declare stream %s: %w", sc.Name, err)
		}
	}
	return nil
}

// Check reports whether the events stream is reachable; it backs /ready.
func Check(js jetstream.JetStream, cfg Config) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		_, err := js.Stream(ctx, cfg.EventsStream())
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			return fmt.Errorf("stream %s not declared", cfg.EventsStream())
		}
		return err
	}
}
