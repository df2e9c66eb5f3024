package consumer_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/agenttrace/agenttrace/pkg/clickhousedb"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	"github.com/agenttrace/agenttrace/pkg/stream"
	"github.com/agenttrace/agenttrace/services/worker/internal/chstore"
	"github.com/agenttrace/agenttrace/services/worker/internal/consumer"
	"github.com/agenttrace/agenttrace/services/worker/internal/deadletter"
	"github.com/agenttrace/agenttrace/services/worker/internal/eventrows"
	"github.com/agenttrace/agenttrace/services/worker/internal/testinfra"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testConfig flushes and retries fast so tests take seconds.
func testConfig() consumer.Config {
	return consumer.Config{
		Durable:           "worker",
		FetchBatch:        64,
		FetchWait:         200 * time.Millisecond,
		FlushRows:         1000,
		FlushBytes:        1 << 20,
		FlushInterval:     50 * time.Millisecond,
		FlushMaxInterval:  50 * time.Millisecond,
		InsertConcurrency: 2,
		MaxDeliver:        5,
		AckWait:           10 * time.Second,
		RetryBackoff:      50 * time.Millisecond,
		RetryBackoffMax:   200 * time.Millisecond,
		QueuePoll:         100 * time.Millisecond,
	}
}

// harness is a running consumer on a test namespace and database.
type harness struct {
	t     *testing.T
	scfg  stream.Config
	js    jetstream.JetStream
	ch    clickhousedb.Config
	conn  driver.Conn // to the test database, for reading back
	reg   *prometheus.Registry
	dlq   *deadletter.Store
	costs consumer.Costs // the cost computation, when a test sets one
	// wrap, when a test sets it, wraps the ClickHouse writer.
	wrap    func(eventrows.Writer) eventrows.Writer
	cancel  context.CancelFunc
	done    chan error
	stopped bool
}

// newHarness sets up NATS and a migrated ClickHouse database.
func newHarness(t *testing.T) *harness {
	t.Helper()
	scfg, _, js := testinfra.NATS(t)
	ch, conn := testinfra.ClickHouse(t)
	return &harness{t: t, scfg: scfg, js: js, ch: ch, conn: conn, dlq: deadletter.New(js, scfg)}
}

// start runs a consumer writing through writerConn until the test ends.
func (h *harness) start(cfg consumer.Config, writerConn driver.Conn) {
	h.t.Helper()
	h.reg = prometheus.NewRegistry()
	log := slog.New(slog.NewTextHandler(h.t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	var w eventrows.Writer = chstore.NewWriter(writerConn, chstore.NewMetrics(h.reg))
	if h.wrap != nil {
		w = h.wrap(w)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c, err := consumer.Declare(ctx, consumer.Deps{
		Log: log, JS: h.js, Stream: h.scfg,
		Writer:      w,
		DeadLetters: h.dlq,
		Metrics:     consumer.NewMetrics(h.reg),
		Costs:       h.costs,
	}, cfg)
	if err != nil {
		cancel()
		h.t.Fatalf("declare: %v", err)
	}
	h.cancel, h.done = cancel, make(chan error, 1)
	go func() { h.done <- c.Run(ctx) }()
	h.t.Cleanup(func() { h.stop() })
}

// stop cancels the consumer and waits for Run to return.
func (h *harness) stop() {
	h.t.Helper()
	if h.stopped || h.cancel == nil {
		return
	}
	h.stopped = true
	h.cancel()
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("Run = %v", err)
		}
	case <-time.After(15 * time.Second):
		h.t.Fatal("Run did not return after cancel")
	}
}

// publish sends env on its project's subject with the given message id.
func (h *harness) publish(env *ingestv1.EventEnvelope, msgID string) {
	h.t.Helper()
	data, err := proto.Marshal(env)
	if err != nil {
		h.t.Fatal(err)
	}
	h.publishRaw(h.scfg.EventSubject(env.GetProjectId()), data, msgID)
}

func (h *harness) publishRaw(subject string, data []byte, msgID string) {
	h.t.Helper()
	msg := nats.NewMsg(subject)
	msg.Data = data
	msg.Header.Set(jetstream.MsgIDHeader, msgID)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := h.js.PublishMsg(ctx, msg); err != nil {
		h.t.Fatalf("publish: %v", err)
	}
}

// streamMsgs is the number of messages left in a stream.
func (h *harness) streamMsgs(name string) uint64 {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := h.js.Stream(ctx, name)
	if err != nil {
		h.t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	return info.State.Msgs
}

func (h *harness) metric(name string, labels ...string) float64 {
	return testinfra.Metric(h.t, h.reg, name, labels...)
}

// eventually polls cond until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var base = time.Date(2025, 5, 1, 10, 0, 0, 0, time.UTC)

func at(d time.Duration) *timestamppb.Timestamp { return timestamppb.New(base.Add(d)) }

func traceEvent(id, traceID string, d time.Duration, body *ingestv1.TraceBody, update bool) *ingestv1.IngestEvent {
	typ := ingestv1.EventType_EVENT_TYPE_TRACE_CREATE
	if update {
		typ = ingestv1.EventType_EVENT_TYPE_TRACE_UPDATE
	}
	body.Id = traceID
	return &ingestv1.IngestEvent{Id: id, Timestamp: at(d), Type: typ, Trace: body}
}

func envelope(project string, events ...*ingestv1.IngestEvent) *ingestv1.EventEnvelope {
	return &ingestv1.EventEnvelope{ProjectId: project, ReceivedAt: at(time.Hour), Events: events}
}
