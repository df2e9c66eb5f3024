package deadletter_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	"github.com/agenttrace/agenttrace/services/worker/internal/deadletter"
	"github.com/agenttrace/agenttrace/services/worker/internal/testinfra"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func envelopeBytes(t *testing.T, events int) []byte {
	t.Helper()
	env := &ingestv1.EventEnvelope{ProjectId: "proj-1"}
	for range events {
		env.Events = append(env.Events, &ingestv1.IngestEvent{Id: "e"})
	}
	b, err := proto.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSendListReplay(t *testing.T) {
	scfg, _, js := testinfra.NATS(t)
	ctx := context.Background()
	s := deadletter.New(js, scfg)

	payload := envelopeBytes(t, 3)
	first := deadletter.Original{Subject: scfg.EventSubject("proj-1"), Sequence: 7, Deliveries: 5, MsgID: "proj-1:batch:x", Data: payload}
	if err := s.Send(ctx, first, "boom"); err != nil {
		t.Fatal(err)
	}
	// Sending the same original again (a crash before its term) stores it once.
	if err := s.Send(ctx, first, "boom"); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("r", 5000)
	second := deadletter.Original{Subject: "elsewhere.events.x", Sequence: 8, Deliveries: 1, Data: []byte{0xff}}
	if err := s.Send(ctx, second, long); err != nil {
		t.Fatal(err)
	}

	letters, err := s.List(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(letters) != 2 {
		t.Fatalf("List = %d letters, want 2", len(letters))
	}
	l := letters[0]
	want := deadletter.Letter{Sequence: 1, Time: l.Time, Project: "proj-1", Reason: "boom", Subject: first.Subject,
		OriginalSequence: 7, Deliveries: 5, MsgID: first.MsgID, Events: 3, Data: payload}
	if !reflect.DeepEqual(l, want) || time.Since(l.Time) > time.Minute {
		t.Errorf("letter = %+v\nwant %+v", l, want)
	}
	if l := letters[1]; l.Project != "unknown" || l.Events != -1 || len(l.Reason) != 1024 {
		t.Errorf("second letter: project %q, events %d, reason length %d", l.Project, l.Events, len(l.Reason))
	}
	if got, _ := s.List(ctx, 1); len(got) != 1 || got[0].Sequence != 1 {
		t.Errorf("List(limit 1) = %+v", got)
	}

	// Replay: the payload returns to its events subject with a fresh id,
	// and the letter is gone.
	if err := s.Replay(ctx, 1); err != nil {
		t.Fatal(err)
	}
	events, err := js.Stream(ctx, scfg.EventsStream())
	if err != nil {
		t.Fatal(err)
	}
	m, err := events.GetMsg(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != first.Subject || !reflect.DeepEqual(m.Data, payload) || m.Header.Get(jetstream.MsgIDHeader) != "replay:1" {
		t.Errorf("replayed %s %q id %q", m.Subject, m.Data, m.Header.Get(jetstream.MsgIDHeader))
	}
	if got, _ := s.List(ctx, 0); len(got) != 1 || got[0].Sequence != 2 {
		t.Errorf("after replay List = %+v, want only letter 2", got)
	}

	// A letter from outside this namespace's events subjects is not replayed.
	if err := s.Replay(ctx, 2); !errors.Is(err, deadletter.ErrForeignSubject) {
		t.Errorf("Replay(foreign) = %v, want ErrForeignSubject", err)
	}
	if err := s.Replay(ctx, 1); !errors.Is(err, deadletter.ErrNotFound) {
		t.Errorf("Replay(replayed) = %v, want ErrNotFound", err)
	}
}

func TestReplayWithoutSubjectHeaderUsesTheProject(t *testing.T) {
	scfg, _, js := testinfra.NATS(t)
	ctx := context.Background()
	// A letter put there by hand (or an older worker) with no headers.
	msg := nats.NewMsg(scfg.DeadLetterSubject("proj-9"))
	msg.Data = []byte("x")
	if _, err := js.PublishMsg(ctx, msg); err != nil {
		t.Fatal(err)
	}
	if err := deadletter.New(js, scfg).Replay(ctx, 1); err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(ctx, scfg.EventsStream())
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.GetMsg(ctx, 1)
	if err != nil || m.Subject != scfg.EventSubject("proj-9") {
		t.Fatalf("replayed message = %+v, %v", m, err)
	}
}

func TestFailsWithoutStreams(t *testing.T) {
	scfg, _, js := testinfra.NATS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := js.DeleteStream(ctx, scfg.DeadLetterStream()); err != nil {
		t.Fatal(err)
	}
	s := deadletter.New(js, scfg)
	if _, err := s.List(ctx, 0); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Errorf("List = %v, want ErrStreamNotFound", err)
	}
	if err := s.Replay(ctx, 1); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Errorf("Replay = %v, want ErrStreamNotFound", err)
	}
	err := s.Send(ctx, deadletter.Original{Subject: scfg.EventSubject("p"), Sequence: 1}, "r")
	if err == nil {
		t.Error("Send without a dead-letter stream succeeded")
	}
}
