package publisher

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	"github.com/agenttrace/agenttrace/pkg/stream"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testStream connects to the local NATS, declares streams under a namespace
// of its own and deletes them when the test ends.
func testStream(t *testing.T) (stream.Config, *nats.Conn, jetstream.JetStream) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs NATS at 127.0.0.1:4222")
	}
	cfg := uniqueConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nc, js, err := stream.Connect(ctx, cfg, "publisher-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if err := stream.EnsureStreams(ctx, js, cfg); err != nil {
		t.Fatalf("EnsureStreams (is NATS with JetStream running on 127.0.0.1:4222?): %v", err)
	}
	t.Cleanup(func() {
		for _, name := range []string{cfg.EventsStream(), cfg.DeadLetterStream()} {
			if err := js.DeleteStream(context.Background(), name); err != nil {
				t.Errorf("delete stream %s: %v", name, err)
			}
		}
	})
	return cfg, nc, js
}

// uniqueConfig is a stream config with a namespace no other test uses.
func uniqueConfig(t *testing.T) stream.Config {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return stream.Config{
		Namespace:        "pubtest_" + hex.EncodeToString(b[:]),
		URL:              "nats://127.0.0.1:4222",
		Replicas:         1,
		DuplicateWindow:  2 * time.Minute,
		MaxBytes:         -1,
		DeadLetterMaxAge: time.Hour,
	}
}

type storedMsg struct {
	subject string
	msgID   string
	size    int
	env     *ingestv1.EventEnvelope
}

// readAll reads every message of the events stream.
func readAll(t *testing.T, js jetstream.JetStream, cfg stream.Config) []storedMsg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, cfg.EventsStream())
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs == 0 {
		return nil
	}
	// An ephemeral consumer that never acks: the messages stay in the work
	// queue. It is deleted at once, as a work queue allows only one
	// unfiltered consumer at a time.
	cons, err := s.CreateConsumer(ctx, jetstream.ConsumerConfig{AckPolicy: jetstream.AckExplicitPolicy, DeliverPolicy: jetstream.DeliverAllPolicy})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.DeleteConsumer(context.Background(), cons.CachedInfo().Name); err != nil {
			t.Errorf("delete consumer: %v", err)
		}
	}()
	batch, err := cons.Fetch(int(info.State.Msgs), jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var out []storedMsg
	for m := range batch.Messages() {
		env := &ingestv1.EventEnvelope{}
		if err := proto.Unmarshal(m.Data(), env); err != nil {
			t.Fatalf("message is not an EventEnvelope: %v", err)
		}
		out = append(out, storedMsg{m.Subject(), m.Headers().Get(jetstream.MsgIDHeader), len(m.Data()), env})
	}
	if err := batch.Error(); err != nil {
		t.Fatal(err)
	}
	if uint64(len(out)) != info.State.Msgs {
		t.Fatalf("read %d messages, stream holds %d", len(out), info.State.Msgs)
	}
	return out
}

func events(n, inputBytes int, prefix string) []*ingestv1.IngestEvent {
	evs := make([]*ingestv1.IngestEvent, n)
	for i := range evs {
		evs[i] = &ingestv1.IngestEvent{
			Id:        fmt.Sprintf("%s-%d", prefix, i),
			Timestamp: timestamppb.New(time.Unix(1_700_000_000+int64(i), 0)),
			Type:      ingestv1.EventType_EVENT_TYPE_OBSERVATION_CREATE,
			Observation: &ingestv1.ObservationBody{
				Id: fmt.Sprintf("obs-%d", i), TraceId: "trace-1",
				Input: structpb.NewStringValue(strings.Repeat("x", inputBytes)),
			},
		}
	}
	return evs
}

func envelope(project string, evs []*ingestv1.IngestEvent) *ingestv1.EventEnvelope {
	return &ingestv1.EventEnvelope{ProjectId: project, ReceivedAt: timestamppb.New(time.Unix(1_700_000_100, 0)), Events: evs}
}

func ids(evs []*ingestv1.IngestEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.GetId()
	}
	return out
}

func TestPublishIntegration(t *testing.T) {
	cfg, nc, js := testStream(t)
	p, err := New(nc, cfg, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	env := envelope("proj-a", events(3, 10, "e"))
	if err := p.Publish(ctx, env); err != nil {
		t.Fatalf("Publish: %v", err)
	}

	msgs := readAll(t, js, cfg)
	if len(msgs) != 1 {
		t.Fatalf("stream holds %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.subject != cfg.EventSubject("proj-a") {
		t.Errorf("subject = %q, want %q", m.subject, cfg.EventSubject("proj-a"))
	}
	if want := stream.MessageID("proj-a", ids(env.Events)); m.msgID != want {
		t.Errorf("Nats-Msg-Id = %q, want %q", m.msgID, want)
	}
	if !proto.Equal(m.env, env) {
		t.Errorf("stored envelope differs:\n got %v\nwant %v", m.env, env)
	}

	// A retried call, even with its events reordered, is deduplicated; a
	// different project with the same event ids is not.
	retry := envelope("proj-a", []*ingestv1.IngestEvent{env.Events[2], env.Events[0], env.Events[1]})
	if err := p.Publish(ctx, retry); err != nil {
		t.Fatalf("Publish retry: %v", err)
	}
	if err := p.Publish(ctx, envelope("proj-b", events(3, 10, "e"))); err != nil {
		t.Fatalf("Publish other project: %v", err)
	}
	msgs = readAll(t, js, cfg)
	if len(msgs) != 2 {
		t.Fatalf("after retry and another project: %d messages, want 2", len(msgs))
	}
	if msgs[1].subject != cfg.EventSubject("proj-b") || msgs[1].env.GetProjectId() != "proj-b" {
		t.Errorf("second message = %q %q, want project proj-b", msgs[1].subject, msgs[1].env.GetProjectId())
	}

	// Nothing to publish is a no-op.
	if err := p.Publish(ctx, envelope("proj-a", nil)); err != nil {
		t.Errorf("Publish(empty) = %v", err)
	}
}

func TestPublishSplitsLargeEnvelope(t *testing.T) {
	cfg, nc, js := testStream(t)
	p, err := New(nc, cfg, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// 30 events of ~100 KiB: about 3 MiB, three or more 1 MiB messages.
	env := envelope("proj-split", events(30, 100<<10, "big"))
	ctx := context.Background()
	if err := p.Publish(ctx, env); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	msgs := readAll(t, js, cfg)
	if len(msgs) < 3 {
		t.Fatalf("stream holds %d messages, want the envelope split in at least 3", len(msgs))
	}
	var got []*ingestv1.IngestEvent
	seenIDs := map[string]bool{}
	for i, m := range msgs {
		if int64(m.size) > nc.MaxPayload() {
			t.Errorf("message %d is %d bytes, over max_payload %d", i, m.size, nc.MaxPayload())
		}
		if want := stream.MessageID("proj-split", ids(m.env.Events)); m.msgID != want {
			t.Errorf("message %d: Nats-Msg-Id = %q, want the id of its own events %q", i, m.msgID, want)
		}
		if seenIDs[m.msgID] {
			t.Errorf("message %d reuses msg id %q", i, m.msgID)
		}
		seenIDs[m.msgID] = true
		if m.env.GetProjectId() != "proj-split" || !proto.Equal(m.env.GetReceivedAt(), env.GetReceivedAt()) {
			t.Errorf("message %d: envelope header %q %v", i, m.env.GetProjectId(), m.env.GetReceivedAt())
		}
		got = append(got, m.env.Events...)
	}
	if len(got) != len(env.Events) {
		t.Fatalf("messages hold %d events, want %d", len(got), len(env.Events))
	}
	for i := range got {
		if !proto.Equal(got[i], env.Events[i]) {
			t.Fatalf("event %d differs or is out of order", i)
		}
	}

	// The same call retried splits the same way and is dropped as duplicates.
	if err := p.Publish(ctx, envelope("proj-split", events(30, 100<<10, "big"))); err != nil {
		t.Fatalf("Publish retry: %v", err)
	}
	if n := len(readAll(t, js, cfg)); n != len(msgs) {
		t.Errorf("after retry the stream holds %d messages, want %d", n, len(msgs))
	}
}

func TestPublishEventTooLarge(t *testing.T) {
	cfg, nc, js := testStream(t)
	p, err := New(nc, cfg, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	evs := append(events(1, 10, "small"), events(1, int(nc.MaxPayload()), "huge")...)
	err = p.Publish(context.Background(), envelope("proj", evs))
	if !errors.Is(err, ErrEventTooLarge) {
		t.Fatalf("Publish = %v, want ErrEventTooLarge", err)
	}
	if n := len(readAll(t, js, cfg)); n != 0 {
		t.Errorf("stream holds %d messages, want none", n)
	}
}

func TestPublishWithoutStream(t *testing.T) {
	if testing.Short() {
		t.Skip("needs NATS at 127.0.0.1:4222")
	}
	cfg := uniqueConfig(t) // streams never declared: nobody answers on the subject
	nc, _, err := stream.Connect(context.Background(), cfg, "publisher-test")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	p, err := New(nc, cfg, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := p.Publish(context.Background(), envelope("proj", events(2, 10, "e"))); err == nil {
		t.Fatal("Publish succeeded without a stream")
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("Publish took %v, want it bounded by the 3s timeout", d)
	}
}

func TestPublishNATSDown(t *testing.T) {
	cfg := uniqueConfig(t)
	cfg.URL = "nats://127.0.0.1:1" // nothing listens here
	nc, _, err := stream.Connect(context.Background(), cfg, "publisher-test")
	if err != nil {
		t.Fatalf("Connect must succeed and keep retrying: %v", err)
	}
	defer nc.Close()
	p, err := New(nc, cfg, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = p.Publish(context.Background(), envelope("proj", events(2, 10, "e")))
	if !errors.Is(err, ErrNotConnected) {
		t.Fatalf("Publish = %v, want ErrNotConnected", err)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("Publish took %v, want it to fail at once", d)
	}
}

func TestPublishCallerDeadline(t *testing.T) {
	cfg, nc, _ := testStream(t)
	p, err := New(nc, cfg, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = p.Publish(ctx, envelope("proj", events(1, 10, "e")))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Publish with a cancelled context = %v, want context.Canceled", err)
	}
}

func TestNewRejectsZeroTimeout(t *testing.T) {
	if _, err := New(nil, stream.Config{}, 0); err == nil {
		t.Error("New accepted a zero timeout")
	}
}

func TestSplit(t *testing.T) {
	evs := events(5, 100, "e")
	one := proto.Size(envelope("p", evs[:1]))
	all := proto.Size(envelope("p", evs))
	tests := []struct {
		name    string
		budget  int
		want    []int // events per chunk
		wantErr bool
	}{
		{"everything fits", all, []int{5}, false},
		{"one byte short", all - 1, []int{4, 1}, false},
		{"one per message", one, []int{1, 1, 1, 1, 1}, false},
		{"two per message", 2*one - proto.Size(envelope("p", nil)), []int{2, 2, 1}, false},
		{"an event never fits", one - 1, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chunks, err := split(envelope("p", evs), tt.budget)
			if tt.wantErr {
				if !errors.Is(err, ErrEventTooLarge) {
					t.Fatalf("split = %v, want ErrEventTooLarge", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, c := range chunks {
				got = append(got, len(c))
				if size := proto.Size(envelope("p", c)); size > tt.budget {
					t.Errorf("chunk encodes to %d bytes, over budget %d", size, tt.budget)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("chunk sizes = %v, want %v", got, tt.want)
			}
		})
	}
}
