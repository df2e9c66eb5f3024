// Package stream holds the JetStream conventions shared by ingest (which
// publishes) and worker (which consumes): connection settings, stream and
// subject names, and how the streams are declared.
//
// One message carries the accepted events of one ingest request (an
// ingestv1.EventEnvelope in protobuf), published on EventSubject(project).
// Its Nats-Msg-Id is derived from the event ids (see MessageID), so a retried
// request is deduplicated by the stream within DuplicateWindow.
package stream

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/agenttrace/agenttrace/pkg/config"
)

const (
	// EventsStream holds accepted events until the worker has stored them.
	EventsStream = "AGENTTRACE_EVENTS"
	// EventsSubjects is the subject space of EventsStream.
	EventsSubjects = "agenttrace.events.>"
	// DeadLetterStream keeps messages the worker gave up on, for inspection and replay.
	DeadLetterStream = "AGENTTRACE_DLQ"
	// DeadLetterSubjects is the subject space of DeadLetterStream.
	DeadLetterSubjects = "agenttrace.dlq.>"

	// Headers set on dead letters.
	HeaderDLQReason     = "Agenttrace-Dlq-Reason"
	HeaderDLQSubject    = "Agenttrace-Dlq-Subject"
	HeaderDLQSequence   = "Agenttrace-Dlq-Sequence"
	HeaderDLQDeliveries = "Agenttrace-Dlq-Deliveries"
	HeaderDLQMsgID      = "Agenttrace-Dlq-Msg-Id"
)

// Config is how services reach NATS and shape the streams.
type Config struct {
	URL      string        `env:"NATS_URL" envDefault:"nats://127.0.0.1:4222"`
	User     string        `env:"NATS_USER"`
	Password config.Secret `env:"NATS_PASSWORD"`
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

// EventSubject is the subject a project's events are published on.
func EventSubject(projectID string) string { return "agenttrace.events." + projectID }

// DeadLetterSubject is the subject a dead letter from the given original subject goes to.
func DeadLetterSubject(projectID string) string { return "agenttrace.dlq." + projectID }

// MessageID derives the deduplication id of a message from its project and
// event ids: the event id itself for a single event, else a digest of the
// sorted ids, so the same batch retried maps to the same message.
func MessageID(projectID string, eventIDs []string) string {
	if len(eventIDs) == 1 {
		return projectID + ":" + eventIDs[0]
	}
	ids := append([]string(nil), eventIDs...)
	sort.Strings(ids)
	h := sha256.New()
	h.Write([]byte(projectID))
	for _, id := range ids {
		h.Write([]byte{0})
		h.Write([]byte(id))
	}
	return projectID + ":batch:" + hex.EncodeToString(h.Sum(nil)[:16])
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
		Name:        EventsStream,
		Description: "Accepted ingestion events awaiting storage in ClickHouse",
		Subjects:    []string{EventsSubjects},
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
		Name:        DeadLetterStream,
		Description: "Events the worker could not store after repeated attempts",
		Subjects:    []string{DeadLetterSubjects},
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
func Check(js jetstream.JetStream) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		_, err := js.Stream(ctx, EventsStream)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			return fmt.Errorf("stream %s not declared", EventsStream)
		}
		return err
	}
}
