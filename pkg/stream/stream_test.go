package stream

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

func TestMessageID(t *testing.T) {
	tests := []struct {
		name      string
		a, b      []string
		projA     string
		projB     string
		wantEqual bool
	}{
		{"same set reordered", []string{"e1", "e2", "e3"}, []string{"e3", "e1", "e2"}, "p", "p", true},
		{"same set same order", []string{"e1", "e2"}, []string{"e1", "e2"}, "p", "p", true},
		{"different sets", []string{"e1", "e2"}, []string{"e1", "e3"}, "p", "p", false},
		{"subset", []string{"e1", "e2"}, []string{"e1", "e2", "e3"}, "p", "p", false},
		{"other project", []string{"e1", "e2"}, []string{"e1", "e2"}, "p1", "p2", false},
		{"other project single", []string{"e1"}, []string{"e1"}, "p1", "p2", false},
		{"separator inside ids", []string{"a\x00b", "c"}, []string{"a", "b\x00c"}, "p", "p", false},
		{"concatenation", []string{"ab", "c"}, []string{"a", "bc"}, "p", "p", false},
		{"project bleeds into ids", []string{"x", "y"}, []string{"px", "y"}, "p", "", false},
		{"single vs duplicated", []string{"e1"}, []string{"e1", "e1"}, "p", "p", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := MessageID(tt.projA, tt.a), MessageID(tt.projB, tt.b)
			if (a == b) != tt.wantEqual {
				t.Errorf("MessageID(%q, %q) = %q, MessageID(%q, %q) = %q; equal = %v, want %v",
					tt.projA, tt.a, a, tt.projB, tt.b, b, a == b, tt.wantEqual)
			}
		})
	}
}

func TestMessageIDForms(t *testing.T) {
	if got, want := MessageID("proj", []string{"evt-1"}), "proj:evt-1"; got != want {
		t.Errorf("single event: got %q, want %q", got, want)
	}
	ids := []string{"b", "a", "c"}
	got := MessageID("proj", ids)
	if !strings.HasPrefix(got, "proj:batch:") || len(got) != len("proj:batch:")+32 {
		t.Errorf("batch id %q: want proj:batch:<32 hex>", got)
	}
	if ids[0] != "b" || ids[1] != "a" || ids[2] != "c" {
		t.Errorf("MessageID reordered its argument: %q", ids)
	}
}

func TestConfigNames(t *testing.T) {
	tests := []struct {
		ns                                   string
		events, eventsSubj, subj, dlq, dlqSj string
	}{
		{"", "AGENTTRACE_EVENTS", "agenttrace.events.>", "agenttrace.events.p1", "AGENTTRACE_DLQ", "agenttrace.dlq.p1"},
		{"t_x1", "T_X1_EVENTS", "t_x1.events.>", "t_x1.events.p1", "T_X1_DLQ", "t_x1.dlq.p1"},
	}
	for _, tt := range tests {
		t.Run(tt.ns, func(t *testing.T) {
			c := Config{Namespace: tt.ns}
			got := []string{c.EventsStream(), c.EventsSubjects(), c.EventSubject("p1"), c.DeadLetterStream(), c.DeadLetterSubject("p1")}
			want := []string{tt.events, tt.eventsSubj, tt.subj, tt.dlq, tt.dlqSj}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("name %d = %q, want %q", i, got[i], want[i])
				}
			}
			if c.DeadLetterSubjects() != strings.TrimSuffix(tt.dlqSj, "p1")+">" {
				t.Errorf("DeadLetterSubjects = %q", c.DeadLetterSubjects())
			}
		})
	}
}

// testConfig returns a config whose namespace no other test run uses.
func testConfig(t *testing.T) Config {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return Config{
		Namespace:        "streamtest_" + hex.EncodeToString(b[:]),
		URL:              "nats://127.0.0.1:4222",
		Replicas:         1,
		DuplicateWindow:  2 * time.Minute,
		MaxBytes:         -1,
		DeadLetterMaxAge: time.Hour,
	}
}

func TestEnsureStreamsIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("needs NATS at 127.0.0.1:4222")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := testConfig(t)
	nc, js, err := Connect(ctx, cfg, "stream-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close) // cleanups run last-in first-out: after the deletes
	t.Cleanup(func() {
		for _, name := range []string{cfg.EventsStream(), cfg.DeadLetterStream()} {
			if err := js.DeleteStream(context.Background(), name); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
				t.Errorf("delete stream %s: %v", name, err)
			}
		}
	})

	check := Check(js, cfg)
	if err := check(ctx); err == nil || !strings.Contains(err.Error(), "not declared") {
		t.Fatalf("Check before EnsureStreams = %v, want a not-declared error", err)
	}
	// Twice: the second call must find the streams as declared and succeed.
	for i := range 2 {
		if err := EnsureStreams(ctx, js, cfg); err != nil {
			t.Fatalf("EnsureStreams (call %d): %v", i+1, err)
		}
	}
	if err := check(ctx); err != nil {
		t.Fatalf("Check after EnsureStreams: %v", err)
	}

	events, err := js.Stream(ctx, cfg.EventsStream())
	if err != nil {
		t.Fatal(err)
	}
	ec := events.CachedInfo().Config
	if ec.Retention != jetstream.WorkQueuePolicy || ec.Storage != jetstream.FileStorage ||
		ec.Duplicates != cfg.DuplicateWindow || ec.Discard != jetstream.DiscardNew ||
		len(ec.Subjects) != 1 || ec.Subjects[0] != cfg.EventsSubjects() {
		t.Errorf("events stream config = %+v", ec)
	}
	dlq, err := js.Stream(ctx, cfg.DeadLetterStream())
	if err != nil {
		t.Fatal(err)
	}
	dc := dlq.CachedInfo().Config
	if dc.Retention != jetstream.LimitsPolicy || dc.MaxAge != cfg.DeadLetterMaxAge ||
		len(dc.Subjects) != 1 || dc.Subjects[0] != cfg.DeadLetterSubjects() {
		t.Errorf("dead-letter stream config = %+v", dc)
	}

	// A changed setting is applied by the next EnsureStreams (rolling upgrade).
	cfg.DuplicateWindow = 5 * time.Minute
	if err := EnsureStreams(ctx, js, cfg); err != nil {
		t.Fatalf("EnsureStreams with a new duplicate window: %v", err)
	}
	info, err := events.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.Duplicates != 5*time.Minute {
		t.Errorf("duplicate window after update = %v, want 5m", info.Config.Duplicates)
	}
}

func TestEnsureStreamsUnreachable(t *testing.T) {
	cfg := testConfig(t)
	cfg.URL = "nats://127.0.0.1:1"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	nc, js, err := Connect(ctx, cfg, "stream-test")
	if err != nil {
		t.Fatalf("Connect must not fail while NATS is down (it retries): %v", err)
	}
	defer nc.Close()
	start := time.Now()
	if err := EnsureStreams(ctx, js, cfg); err == nil {
		t.Fatal("EnsureStreams succeeded without a server")
	}
	if err := Check(js, cfg)(ctx); err == nil {
		t.Fatal("Check succeeded without a server")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("calls took %v; they must honour the context deadline", d)
	}
}
