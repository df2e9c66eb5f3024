package consumer_test

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	"github.com/agenttrace/agenttrace/services/worker/internal/eventrows"
	"github.com/agenttrace/agenttrace/services/worker/internal/testinfra"
)

// gate is a writer that holds every Write until released, counting how
// many are held at once.
type gate struct {
	next    eventrows.Writer
	release chan struct{}

	mu             sync.Mutex
	inFlight, most int
	calls          int
}

func (g *gate) Write(ctx context.Context, b eventrows.Batch) error {
	g.mu.Lock()
	g.calls++
	g.inFlight++
	g.most = max(g.most, g.inFlight)
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.inFlight--
		g.mu.Unlock()
	}()
	select {
	case <-g.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return g.next.Write(ctx, b)
}

func (g *gate) counts() (inFlight, most, calls int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.inFlight, g.most, g.calls
}

// TestInsertsRunConcurrentlyWithinTheBound: with one message per flush
// and a store that does not answer, exactly InsertConcurrency flushes are
// written at once, the consumer buffers the next one meanwhile, and no
// message is acknowledged before its rows are stored.
func TestInsertsRunConcurrentlyWithinTheBound(t *testing.T) {
	h := newHarness(t)
	g := &gate{release: make(chan struct{})}
	h.wrap = func(w eventrows.Writer) eventrows.Writer { g.next = w; return g }
	cfg := testConfig()
	cfg.FlushRows = 1
	cfg.InsertConcurrency = 3
	h.start(cfg, h.conn)

	const n = 8
	for i := range n {
		id := fmt.Sprint(i)
		h.publish(envelope("proj-p", traceEvent("ev-"+id, "tr-"+id, 0, &ingestv1.TraceBody{}, false)), id)
	}
	eventually(t, 10*time.Second, "three flushes in flight", func() bool {
		inFlight, _, _ := g.counts()
		return inFlight == 3 && h.metric("agenttrace_worker_inserts_in_flight") == 3
	})
	time.Sleep(300 * time.Millisecond) // room for a fourth flush, were the bound not kept
	if _, most, calls := g.counts(); most != 3 || calls != 3 {
		t.Fatalf("%d writes started, at most %d at once; want 3 and 3", calls, most)
	}
	if n := h.metric("agenttrace_worker_messages_total", "outcome", "acked"); n != 0 {
		t.Fatalf("%v messages acked before any insert completed", n)
	}
	if n := testinfra.ReadRows(t, h.conn).Len(); n != 0 {
		t.Fatalf("%d rows stored while the writer is held", n)
	}

	close(g.release)
	eventually(t, 10*time.Second, "every row and ack", func() bool {
		return testinfra.ReadRows(t, h.conn).Len() == n && h.streamMsgs(h.scfg.EventsStream()) == 0 &&
			h.metric("agenttrace_worker_messages_total", "outcome", "acked") == n
	})
	if _, most, _ := g.counts(); most > 3 {
		t.Errorf("%d writes at once, want at most 3", most)
	}
	eventually(t, 5*time.Second, "no insert in flight", func() bool {
		return h.metric("agenttrace_worker_inserts_in_flight") == 0
	})
}

// slowWriter delays the writes it is told to, then writes.
type slowWriter struct {
	next  eventrows.Writer
	delay func(eventrows.Batch) time.Duration
}

func (s slowWriter) Write(ctx context.Context, b eventrows.Batch) error {
	time.Sleep(s.delay(b))
	return s.next.Write(ctx, b)
}

// TestDeletionWaitsForTheFlushesAroundIt: with one message per flush and
// room for four at once, a deletion still deletes the rows published
// before it even when their insert is slower than the deletion, and spares
// the rows published after it even when the deletion is slower than their
// insert.
func TestDeletionWaitsForTheFlushesAroundIt(t *testing.T) {
	slow := 400 * time.Millisecond
	for name, delay := range map[string]func(eventrows.Batch) time.Duration{
		"inserts before it are slow": func(b eventrows.Batch) time.Duration {
			if len(b.Deletions) == 0 && len(b.Traces) > 0 && b.Traces[0].ID == "tr-1" {
				return slow
			}
			return 0
		},
		"the deletion is slow": func(b eventrows.Batch) time.Duration {
			if len(b.Deletions) > 0 {
				return slow
			}
			return 0
		},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.wrap = func(w eventrows.Writer) eventrows.Writer { return slowWriter{next: w, delay: delay} }
			h.publish(envelope("proj-q", traceEvent("ev-1", "tr-1", 0, &ingestv1.TraceBody{Name: proto.String("old")}, false)), "m1")
			h.publish(envelope("proj-q", traceEvent("ev-2", "tr-2", 0, &ingestv1.TraceBody{}, false)), "m2")
			h.publish(envelope("proj-q", deleteEvent("del-1", "tr-1")), "m3")
			h.publish(envelope("proj-q", traceEvent("ev-4", "tr-1", time.Hour, &ingestv1.TraceBody{Name: proto.String("new")}, false)), "m4")
			cfg := testConfig()
			cfg.FlushRows = 1
			cfg.InsertConcurrency = 4
			h.start(cfg, h.conn)
			eventually(t, 15*time.Second, "all messages acked", func() bool {
				return h.metric("agenttrace_worker_messages_total", "outcome", "acked") == 4
			})
			want := []string{"traces proj-q tr-1 ev-4", "traces proj-q tr-2 ev-2"}
			eventually(t, 10*time.Second, "the deletion", func() bool {
				return reflect.DeepEqual(testinfra.RowKeys(t, h.conn), want)
			})
		})
	}
}
