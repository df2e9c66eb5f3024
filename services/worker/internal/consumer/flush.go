package consumer

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/agenttrace/agenttrace/pkg/retry"
	"github.com/agenttrace/agenttrace/services/worker/internal/deadletter"
	"github.com/agenttrace/agenttrace/services/worker/internal/eventrows"
)

// pending is one message awaiting its flush.
type pending struct {
	msg  jetstream.Msg
	meta *jetstream.MsgMetadata
	rows eventrows.Batch
}

// buffer holds the messages of the next flush and all their rows.
type buffer struct {
	msgs  []pending
	rows  eventrows.Batch
	bytes int       // of the messages' data
	first time.Time // when the first message was added
}

func (b *buffer) len() int { return len(b.msgs) }

func (b *buffer) add(p pending) {
	if len(b.msgs) == 0 {
		b.first = time.Now()
	}
	b.msgs = append(b.msgs, p)
	b.rows.Append(p.rows)
	b.bytes += len(p.msg.Data())
}

// take hands the buffered messages and rows to a flush and empties b.
func (b *buffer) take() flushBatch {
	f := flushBatch{msgs: b.msgs, rows: b.rows}
	*b = buffer{}
	return f
}

// flushBatch is what one flush writes and settles.
type flushBatch struct {
	msgs []pending
	rows eventrows.Batch
}

// flush hands the buffered messages to an insert slot, waiting while all
// InsertConcurrency slots are busy, and returns: the consumer goes on
// fetching and decoding while ClickHouse stores the rows. Each flush
// settles its own messages once its rows are stored, so acks still follow
// inserts. Flushes may complete out of order; the read-time merge orders
// versions by event_ts, not by insert order. Deletions are the exception:
// a flush that carries them starts after every earlier flush has completed
// (they delete the rows stored before them) and completes before the next
// one starts (rows that follow them must survive).
func (c *Consumer) flush(ctx context.Context, buf *buffer) {
	if buf.len() == 0 {
		return
	}
	f := buf.take()
	barrier := len(f.rows.Deletions) > 0
	if barrier {
		c.inserts.Wait()
	}
	c.slots <- struct{}{}
	c.Metrics.insertsInFlight.Inc()
	c.inserts.Go(func() {
		defer func() {
			c.Metrics.insertsInFlight.Dec()
			<-c.slots
		}()
		c.write(ctx, f)
	})
	if barrier {
		c.inserts.Wait()
	}
}

// write stores one flush's rows in one insert per table, carries out its
// deletions, and settles its messages. It runs to completion even during
// shutdown: the rows are already in memory and the insert is bounded by
// AckWait, after which the server would redeliver anyway.
func (c *Consumer) write(ctx context.Context, f flushBatch) {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.AckWait)
	defer cancel()
	start := time.Now()
	c.Metrics.flushRows.Observe(float64(f.rows.Rows()))
	defer func() { c.Metrics.flushDuration.Observe(time.Since(start).Seconds()) }()

	err := c.Writer.Write(wctx, f.rows)
	switch {
	case err == nil:
		c.storeRecovered()
		c.ack(wctx, f.msgs)
	case errors.Is(err, eventrows.ErrRejected):
		c.storeRecovered()
		c.Log.WarnContext(ctx, "batch insert rejected; retrying message by message",
			"messages", len(f.msgs), "rows", f.rows.Len(), "err", err)
		c.isolate(wctx, f.msgs)
	default:
		pause := c.storeFailed()
		c.Log.ErrorContext(ctx, "batch insert failed; messages will be redelivered",
			"messages", len(f.msgs), "rows", f.rows.Len(), "retry_in", pause, "err", err)
		c.retry(wctx, f.msgs, pause)
	}
}

// storeFailed counts a flush that failed for the store's reasons
// (ClickHouse away) and holds the consumer's next fetch for the pause that
// follows the current run of failures: the store is unreachable, so the
// consumer gives it a moment rather than spin through the queue. It
// returns that pause.
func (c *Consumer) storeFailed() time.Duration {
	c.storeMu.Lock()
	defer c.storeMu.Unlock()
	c.storeFailures++
	pause := c.storePause()
	c.storeResume = time.Now().Add(pause)
	return pause
}

// storeRecovered ends a run of store failures.
func (c *Consumer) storeRecovered() {
	c.storeMu.Lock()
	defer c.storeMu.Unlock()
	c.storeFailures = 0
}

// storeWait is how long the consumer should hold its next fetch.
func (c *Consumer) storeWait() time.Duration {
	c.storeMu.Lock()
	defer c.storeMu.Unlock()
	return time.Until(c.storeResume)
}

// storeRetryMax bounds the consumer's pause while the store is away, and
// so how long after the store's return the backlog starts to drain.
const storeRetryMax = 5 * time.Second

// storePause is the consumer's pause after the current run of store
// failures (called with storeMu held): RetryBackoff, doubling up to storeRetryMax. The pause belongs to
// the consumer, not to each message: an outage is the store's fault, so a
// message's own redelivery count (which backs off to RetryBackoffMax for
// messages ClickHouse rejects) must not delay it once the store is back.
func (c *Consumer) storePause() time.Duration {
	p := retry.Policy{First: c.cfg.RetryBackoff, Max: max(storeRetryMax, c.cfg.RetryBackoff)}
	return p.Pause(c.storeFailures)
}

// isolate writes each message on its own so that one bad message does not
// hold back the others, then settles each by its own outcome.
func (c *Consumer) isolate(ctx context.Context, msgs []pending) {
	for i, p := range msgs {
		err := c.Writer.Write(ctx, p.rows)
		switch {
		case err == nil:
			c.ack(ctx, msgs[i:i+1])
		case errors.Is(err, eventrows.ErrRejected):
			if p.meta.NumDelivered >= uint64(c.cfg.MaxDeliver) {
				c.deadLetter(ctx, p, err.Error())
			} else {
				c.nak(ctx, p, err)
			}
		default:
			// The store went away mid-way: nothing more can be learned now.
			pause := c.storeFailed()
			c.Log.ErrorContext(ctx, "insert failed while isolating; messages will be redelivered", "err", err)
			c.retry(ctx, msgs[i:], pause)
			return
		}
	}
}

// retry naks messages that failed for reasons of the store, not their own,
// so they are redelivered after delay however often that takes: an outage
// does not send healthy events to the dead-letter stream.
func (c *Consumer) retry(ctx context.Context, msgs []pending, delay time.Duration) {
	for _, p := range msgs {
		c.nakAfter(ctx, p, delay)
	}
}

func (c *Consumer) ack(ctx context.Context, msgs []pending) {
	for _, p := range msgs {
		// Ack without waiting for the server's confirmation: a lost ack means
		// a redelivery, and a redelivered event's row is a duplicate that the
		// read-time merge (and ReplacingMergeTree) ignores.
		if err := p.msg.Ack(); err != nil {
			c.Log.WarnContext(ctx, "ack failed; message will be redelivered", "subject", p.msg.Subject(), "err", err)
		}
	}
	c.Metrics.messages.WithLabelValues(outcomeAcked).Add(float64(len(msgs)))
}

// nak redelivers a message after its own backoff, which grows with its
// deliveries.
func (c *Consumer) nak(ctx context.Context, p pending, cause error) {
	delay := c.cfg.backoff(p.meta.NumDelivered)
	if cause != nil {
		c.Log.WarnContext(ctx, "message rejected; will retry", "subject", p.msg.Subject(),
			"stream_seq", p.meta.Sequence.Stream, "deliveries", p.meta.NumDelivered, "delay", delay, "err", cause)
	}
	c.nakAfter(ctx, p, delay)
}

func (c *Consumer) nakAfter(ctx context.Context, p pending, delay time.Duration) {
	if err := p.msg.NakWithDelay(delay); err != nil {
		c.Log.WarnContext(ctx, "nak failed; message will be redelivered after ack wait", "err", err)
	}
	c.Metrics.messages.WithLabelValues(outcomeNacked).Inc()
}

// deadLetter copies p to the dead-letter stream and only then terminates it
// in the events stream. If the copy fails, p is nak'ed and tried again.
func (c *Consumer) deadLetter(ctx context.Context, p pending, reason string) {
	o := deadletter.Original{
		Subject: p.msg.Subject(),
		MsgID:   p.msg.Headers().Get(jetstream.MsgIDHeader),
		Data:    p.msg.Data(),
	}
	if p.meta != nil {
		o.Sequence, o.Deliveries = p.meta.Sequence.Stream, p.meta.NumDelivered
	}
	if err := c.DeadLetters.Send(ctx, o, reason); err != nil {
		c.Log.ErrorContext(ctx, "dead-lettering failed; message will be redelivered", "subject", o.Subject, "err", err)
		if p.meta != nil {
			c.nak(ctx, p, nil)
		}
		return
	}
	if err := p.msg.Term(); err != nil {
		c.Log.WarnContext(ctx, "term failed; message may be dead-lettered twice", "err", err)
	}
	c.Log.WarnContext(ctx, "message dead-lettered", "subject", o.Subject, "stream_seq", o.Sequence,
		"deliveries", o.Deliveries, "msg_id", o.MsgID, "reason", reason)
	c.Metrics.messages.WithLabelValues(outcomeDeadLettered).Inc()
}
