// Package publisher puts envelopes of accepted events, or of accepted OTLP
// spans, on the JetStream events stream and waits for the stream's
// acknowledgements.
//
// An envelope goes out as one message when it fits in the server's
// max_payload, else as several: native events split in event order, OTLP
// spans split by resource and scope (see PublishExport). Each message's
// Nats-Msg-Id is stream.MessageID of its own events or spans, so a retried
// call (same content, same order) yields the same messages and the
// stream's duplicate window drops the copies.
//
// Publishing never waits unboundedly: a disconnected client fails at once,
// and every wait is bounded by the publish timeout, because the NATS client
// would otherwise park messages in its reconnect buffer indefinitely.
package publisher

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	"github.com/agenttrace/agenttrace/pkg/stream"
)

var (
	// ErrNotConnected: the NATS connection is down (reconnecting or closed).
	ErrNotConnected = errors.New("not connected to NATS")
	// ErrEventTooLarge: one event alone exceeds the server's max_payload, so
	// it can never be published; ingest's event size limit is set too high
	// for this server.
	ErrEventTooLarge = errors.New("event larger than the NATS max_payload")
)

// Publisher publishes envelopes on the events stream.
type Publisher struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	cfg     stream.Config
	timeout time.Duration
}

// New publishes through nc. timeout bounds each Publish call, from the
// first message sent to the last acknowledgement.
func New(nc *nats.Conn, cfg stream.Config, timeout time.Duration) (*Publisher, error) {
	if timeout <= 0 {
		return nil, fmt.Errorf("publish timeout must be positive, got %v", timeout)
	}
	// The async timeout makes the client drop its bookkeeping of an ack that
	// never comes, so a NATS outage cannot fill the pending-ack table.
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(timeout))
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	return &Publisher{nc: nc, js: js, cfg: cfg, timeout: timeout}, nil
}

// Publish sends env's events and returns once the stream has acknowledged
// every message. Any error means the caller must treat the events as not
// stored (some messages may have been; a retry is deduplicated).
func (p *Publisher) Publish(ctx context.Context, env *ingestv1.EventEnvelope) error {
	if len(env.GetEvents()) == 0 {
		return nil
	}
	// Checked first: the server's max_payload is unknown while disconnected.
	if !p.nc.IsConnected() {
		return ErrNotConnected
	}
	chunks, err := split(env, p.budget(env))
	if err != nil {
		return err
	}
	msgs := make([]outgoing, 0, len(chunks))
	for _, events := range chunks {
		part := &ingestv1.EventEnvelope{ProjectId: env.GetProjectId(), ReceivedAt: env.GetReceivedAt(), Events: events}
		data, err := proto.Marshal(part)
		if err != nil {
			return fmt.Errorf("encode envelope: %w", err)
		}
		msgs = append(msgs, outgoing{data: data, msgID: stream.MessageID(env.GetProjectId(), eventIDs(events))})
	}
	return p.send(ctx, env.GetProjectId(), msgs)
}

// outgoing is one encoded envelope and its deduplication id.
type outgoing struct {
	data  []byte
	msgID string
}

// send publishes msgs on projectID's subject asynchronously and waits, within
// the publish timeout, until the stream has acknowledged all of them.
func (p *Publisher) send(ctx context.Context, projectID string, msgs []outgoing) error {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()

	subject := p.cfg.EventSubject(projectID)
	futures := make([]jetstream.PubAckFuture, 0, len(msgs))
	for _, m := range msgs {
		msg := &nats.Msg{Subject: subject, Data: m.data, Header: nats.Header{}}
		f, err := p.js.PublishMsgAsync(msg,
			jetstream.WithMsgID(m.msgID),
			// Refuse to land anywhere but the events stream, should another
			// stream ever claim the subject.
			jetstream.WithExpectStream(p.cfg.EventsStream()),
		)
		if err != nil {
			return fmt.Errorf("publish to %s: %w", subject, err)
		}
		futures = append(futures, f)
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("publish to %s: %w", subject, err)
		case <-ctx.Done():
			return fmt.Errorf("publish to %s: waiting for acknowledgement: %w", subject, ctx.Err())
		}
	}
	return nil
}

// budget is the largest encoded envelope that fits in one message next to
// its headers.
func (p *Publisher) budget(env *ingestv1.EventEnvelope) int {
	longest := len(batchIDSuffix)
	for _, ev := range env.GetEvents() {
		longest = max(longest, len(ev.GetId()))
	}
	return p.budgetFor(env.GetProjectId(), longest)
}

// batchIDSuffix is as long as the part after "<project>:" of a message id
// that stands for several events (see stream.MessageID).
const batchIDSuffix = "batch:0123456789abcdef0123456789abcdef"

// budgetFor is the largest message body that fits next to the headers of a
// message of projectID whose id ends in at most idSuffixLen bytes.
func (p *Publisher) budgetFor(projectID string, idSuffixLen int) int {
	headers := len("NATS/1.0\r\n\r\n") +
		len(jetstream.MsgIDHeader+": \r\n") + len(projectID) + 1 + idSuffixLen +
		len(jetstream.ExpectedStreamHeader+": \r\n") + len(p.cfg.EventsStream())
	return int(p.nc.MaxPayload()) - headers
}

// split cuts env's events, in order, into groups whose envelope encodes to
// at most budget bytes.
func split(env *ingestv1.EventEnvelope, budget int) ([][]*ingestv1.IngestEvent, error) {
	base := proto.Size(&ingestv1.EventEnvelope{ProjectId: env.GetProjectId(), ReceivedAt: env.GetReceivedAt()})
	var (
		chunks [][]*ingestv1.IngestEvent
		cur    []*ingestv1.IngestEvent
		size   = base
	)
	for _, ev := range env.GetEvents() {
		n := proto.Size(ev)
		// Field 3 of EventEnvelope: a one-byte tag, the length, the event.
		add := 1 + protowire.SizeVarint(uint64(n)) + n
		if base+add > budget {
			return nil, fmt.Errorf("%w: event %q encodes to %d bytes, the server accepts %d per message", ErrEventTooLarge, ev.GetId(), n, budget-base)
		}
		if size+add > budget {
			chunks = append(chunks, cur)
			cur, size = nil, base
		}
		cur = append(cur, ev)
		size += add
	}
	return append(chunks, cur), nil
}

func eventIDs(events []*ingestv1.IngestEvent) []string {
	ids := make([]string, len(events))
	for i, ev := range events {
		ids[i] = ev.GetId()
	}
	return ids
}
