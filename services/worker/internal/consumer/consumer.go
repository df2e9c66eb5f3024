// Package consumer is the worker's transport: it pulls event messages from
// the JetStream events stream with a durable consumer, buffers their rows,
// flushes them to the row writer by size or time, and settles each message
// only after its rows are stored: ack on success, a delayed nak to retry,
// or the dead-letter stream once retries are exhausted.
package consumer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/agenttrace/agenttrace/pkg/chschema"
	"github.com/agenttrace/agenttrace/pkg/retry"
	"github.com/agenttrace/agenttrace/pkg/stream"
	"github.com/agenttrace/agenttrace/services/worker/internal/deadletter"
	"github.com/agenttrace/agenttrace/services/worker/internal/eventrows"
)

// DeadLetters stores messages the worker gives up on.
type DeadLetters interface {
	Send(ctx context.Context, o deadletter.Original, reason string) error
}

// Costs completes the decoded observation rows of a project before they
// are buffered: the worker's cost computation (pricing.Enricher). It must
// not block: ingestion never waits for prices.
type Costs interface {
	Enrich(project string, rows []chschema.Observation)
}

// Deps are what a Consumer works with.
type Deps struct {
	Log         *slog.Logger
	JS          jetstream.JetStream
	Stream      stream.Config
	Writer      eventrows.Writer
	DeadLetters DeadLetters
	Metrics     *Metrics
	// Costs is optional; without it rows keep only the costs clients sent.
	Costs Costs
}

// Consumer moves messages from the events stream into the row writer.
type Consumer struct {
	Deps
	cfg  Config
	cons jetstream.Consumer

	// slots holds one token per flush being written; its capacity is
	// InsertConcurrency. inserts tracks those flushes.
	slots   chan struct{}
	inserts sync.WaitGroup

	storeMu sync.Mutex
	// storeFailures counts the flushes in a row that failed for the
	// store's reasons (ClickHouse away); the consumer's pause grows with it.
	storeFailures int
	// storeResume is when the consumer may fetch again after such a failure.
	storeResume time.Time

	// behind is set while the consumer reads a backlog (see add; the
	// fetch loop's own).
	behind bool
}

// Declare makes sure the streams and the durable consumer exist, retrying
// until NATS answers or ctx ends, so the worker can start before NATS.
func Declare(ctx context.Context, d Deps, cfg Config) (*Consumer, error) {
	cc := jetstream.ConsumerConfig{
		Durable:       cfg.Durable,
		Description:   "AgentTrace worker: stores events in ClickHouse",
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       cfg.AckWait,
		// Redelivery is unlimited on the server: the worker itself moves a
		// message to the dead-letter stream after MaxDeliver attempts. A
		// server-side limit would leave an exhausted message stuck in the
		// work queue instead.
		MaxDeliver:    -1,
		FilterSubject: d.Stream.EventsSubjects(),
		MaxAckPending: cfg.maxAckPending(),
	}
	var cons jetstream.Consumer
	p := retry.Policy{First: time.Second, Max: 10 * time.Second, OnRetry: func(attempt int, err error, pause time.Duration) {
		d.Log.WarnContext(ctx, "jetstream not ready; retrying", "attempt", attempt, "retry_in", pause, "err", err)
	}}
	err := p.Do(ctx, func(ctx context.Context) error {
		if err := stream.EnsureStreams(ctx, d.JS, d.Stream); err != nil {
			return err
		}
		var err error
		if cons, err = d.JS.CreateOrUpdateConsumer(ctx, d.Stream.EventsStream(), cc); err != nil {
			return fmt.Errorf("declare consumer %s: %w", cfg.Durable, err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("declare streams: %w", err)
	}
	return &Consumer{Deps: d, cfg: cfg, cons: cons, slots: make(chan struct{}, cfg.InsertConcurrency)}, nil
}

// Run consumes until ctx is cancelled, then stops fetching, flushes what it
// holds, waits for every flush in flight, settles those messages and
// returns.
func (c *Consumer) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	pollCtx, stopPoll := context.WithCancel(ctx)
	wg.Go(func() { c.pollQueueDepth(pollCtx) })
	defer wg.Wait()
	defer stopPoll()

	buf := &buffer{}
	for ctx.Err() == nil {
		if d := c.storeWait(); d > 0 {
			_ = sleep(ctx, d)
			continue
		}
		batch, stop, err := c.fetch(ctx)
		if err != nil {
			c.Log.WarnContext(ctx, "fetch failed", "err", err)
			_ = sleep(ctx, c.cfg.RetryBackoff)
			continue
		}
		c.consume(ctx, batch, buf)
		stop()
		if buf.len() > 0 && !time.Now().Before(c.due(buf)) {
			c.flush(ctx, buf)
		}
	}
	c.flush(ctx, buf)
	c.inserts.Wait()
	// Acks are fire-and-forget publishes; push them out before returning so
	// a drained worker leaves nothing to be redelivered.
	if err := c.JS.Conn().FlushTimeout(5 * time.Second); err != nil {
		c.Log.Warn("flush acks to nats", "err", err)
	}
	return nil
}

// fetch sends one pull request for up to FetchBatch messages, bounded by
// a deadline FetchWait away, and returns its batch and the function that
// releases the deadline once the batch is read. The server ends the request
// at 90% of FetchWait (jetstream.FetchContext keeps the rest as a margin
// for messages on their way) and says so; when that status is lost (seen
// with nats-server 2.9.10 every few minutes under a steady load), a request
// bounded by FetchMaxWait alone stays open a further second after its last
// message, and every delivery waits: the deadline ends it instead. The
// deadline is not tied to ctx, so that cancellation does not cut a request
// short with messages still on their way to it (see consume).
func (c *Consumer) fetch(ctx context.Context) (jetstream.MessageBatch, context.CancelFunc, error) {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.FetchWait)
	batch, err := c.cons.Fetch(c.cfg.FetchBatch, jetstream.FetchContext(fctx))
	if err != nil {
		cancel()
		return nil, nil, err
	}
	return batch, cancel, nil
}

// consume reads one pull request to its end, flushing whenever the buffer
// is full or due. It does not stop at cancellation: messages already
// delivered to this request are processed rather than left to wait out
// AckWait, and the request ends by itself within FetchWait.
func (c *Consumer) consume(ctx context.Context, batch jetstream.MessageBatch, buf *buffer) {
	// The timer runs while the buffer holds messages, including those left
	// from the previous request; armedFor is the time it is set for (zero
	// while it is not).
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var armedFor time.Time
	rearm := func() {
		switch {
		case buf.len() == 0 && !armedFor.IsZero():
			timer.Stop()
			armedFor = time.Time{}
		case buf.len() > 0 && !c.due(buf).Equal(armedFor):
			armedFor = c.due(buf)
			timer.Reset(time.Until(armedFor))
		}
	}
	rearm()
	for {
		var fire <-chan time.Time
		if !armedFor.IsZero() {
			fire = timer.C
		}
		select {
		case m, ok := <-batch.Messages():
			if !ok {
				// A request that ran to its deadline (see fetch) ended
				// as one the server ended.
				if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) {
					c.Log.WarnContext(ctx, "pull request ended with an error", "err", err)
				}
				return
			}
			c.add(ctx, m, buf)
			if buf.rows.Len() >= c.cfg.FlushRows || buf.bytes >= c.cfg.FlushBytes {
				c.flush(ctx, buf)
			}
		case <-fire:
			armedFor = time.Time{}
			if !time.Now().Before(c.due(buf)) {
				c.flush(ctx, buf)
			}
		}
		rearm()
	}
}

// due is when the buffer must be flushed: FlushInterval after its first
// message, or FlushMaxInterval while the consumer is behind.
func (c *Consumer) due(buf *buffer) time.Time {
	if c.behind {
		return buf.first.Add(max(c.cfg.FlushInterval, c.cfg.FlushMaxInterval))
	}
	return buf.first.Add(c.cfg.FlushInterval)
}

// add decodes m into the buffer; a message that cannot become rows is
// dead-lettered at once, since no retry can change its bytes.
func (c *Consumer) add(ctx context.Context, m jetstream.Msg, buf *buffer) {
	p := pending{msg: m}
	md, err := m.Metadata()
	if err != nil {
		c.Log.ErrorContext(ctx, "message without jetstream metadata", "subject", m.Subject(), "err", err)
		c.deadLetter(ctx, p, "no jetstream metadata: "+err.Error())
		return
	}
	p.meta = md
	// The consumer is behind a backlog when a message waited in the stream
	// longer than FlushMaxInterval and at least a pull request's worth of
	// messages wait after it: buffers then fill for FlushMaxInterval
	// rather than FlushInterval, until the backlog's end. A short stall
	// leaves messages old but few behind them; holding buffers then would
	// only add to their delay.
	c.behind = md.NumPending >= uint64(c.cfg.FetchBatch) && time.Since(md.Timestamp) > c.cfg.FlushMaxInterval
	decoded, err := eventrows.Decode(m.Data())
	if err == nil {
		err = c.checkProject(m.Subject(), decoded.ProjectID)
	}
	if err != nil {
		c.deadLetter(ctx, p, err.Error())
		return
	}
	p.rows = decoded.Rows
	if c.Costs != nil {
		c.Costs.Enrich(decoded.ProjectID, p.rows.Observations)
	}
	// A deletion removes the rows stored before it, those buffered with it
	// included; rows that arrive after it must survive it, so they wait for
	// the deletions buffered so far to be carried out.
	if len(buf.rows.Deletions) > 0 && p.rows.Rows() > 0 {
		c.flush(ctx, buf)
	}
	buf.add(p)
}

// checkProject refuses an envelope whose project differs from the subject
// it was published on: ingest derives both from the caller's key, so a
// mismatch is corruption, and storing it could put rows in another tenant.
func (c *Consumer) checkProject(subject, project string) error {
	if subject != c.Stream.EventSubject(project) {
		return fmt.Errorf("%w: envelope project %q does not match subject %q", eventrows.ErrUndecodable, project, subject)
	}
	return nil
}

// pollQueueDepth refreshes the queue depth gauge until ctx ends.
func (c *Consumer) pollQueueDepth(ctx context.Context) {
	t := time.NewTicker(c.cfg.QueuePoll)
	defer t.Stop()
	for {
		info, err := c.cons.Info(ctx)
		if err == nil {
			c.Metrics.queueDepth.Set(float64(info.NumPending) + float64(info.NumAckPending))
		} else if ctx.Err() == nil {
			c.Log.DebugContext(ctx, "consumer info failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
