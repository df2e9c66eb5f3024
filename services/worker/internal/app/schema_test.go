package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	"github.com/agenttrace/agenttrace/services/worker/internal/chmigrate"
	"github.com/agenttrace/agenttrace/services/worker/internal/testinfra"
)

// serve runs the worker on the test's namespace and database until the
// test ends; it returns the admin address.
func serve(t *testing.T, namespace, database string) string {
	t.Helper()
	admin := freeAddr(t)
	for k, v := range map[string]string{
		"AGENTTRACE_NATS_NAMESPACE":            namespace,
		"AGENTTRACE_CLICKHOUSE_DATABASE":       database,
		"AGENTTRACE_GRPC_ADDR":                 freeAddr(t),
		"AGENTTRACE_ADMIN_ADDR":                admin,
		"AGENTTRACE_AUTH_ADDR":                 freeAddr(t),
		"AGENTTRACE_DRAIN_DELAY":               "0s",
		"AGENTTRACE_LOG_LEVEL":                 "warn",
		"AGENTTRACE_WORKER_MAX_DELIVER":        "1", // any failed insert dead-letters at once
		"AGENTTRACE_WORKER_FLUSH_INTERVAL":     "20ms",
		"AGENTTRACE_WORKER_FETCH_WAIT":         "200ms",
		"AGENTTRACE_WORKER_RETENTION_INTERVAL": "0",
		"AGENTTRACE_WORKER_PRICES_REFRESH":     "0",
	} {
		t.Setenv(k, v)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- program(io.Discard, io.Discard).Run(ctx, nil) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("serve = %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop")
		}
	})
	return admin
}

func readiness(t *testing.T, admin string) (int, map[string]string) {
	t.Helper()
	code, body := get(t, "http://"+admin+"/ready")
	var r struct {
		Failures map[string]string `json:"failures"`
	}
	_ = json.Unmarshal([]byte(body), &r)
	return code, r.Failures
}

func streamMsgs(t *testing.T, js jetstream.JetStream, name string) uint64 {
	t.Helper()
	s, err := js.Stream(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// TestServeWaitsForSchemaBeforeConsuming: on a first install the worker
// starts before its migrations have run. Events published meanwhile must
// wait in the stream (not fail into the dead-letter stream) and all be
// written once `migrate up` has run.
func TestServeWaitsForSchemaBeforeConsuming(t *testing.T) {
	scfg, _, js := testinfra.NATS(t)
	ch := testinfra.ClickHouseConfig(t)
	// The database is there (the Job's first step), its tables are not.
	if err := chmigrate.CreateDatabase(context.Background(), ch); err != nil {
		t.Fatal(err)
	}
	const events = 20
	for i := range events {
		env := &ingestv1.EventEnvelope{ProjectId: "proj-s", ReceivedAt: timestamppb.Now(), Events: []*ingestv1.IngestEvent{{
			Id: fmt.Sprintf("ev-%d", i), Timestamp: timestamppb.Now(), Type: ingestv1.EventType_EVENT_TYPE_TRACE_CREATE,
			Trace: &ingestv1.TraceBody{Id: fmt.Sprintf("tr-%d", i), Name: proto.String("early")},
		}}}
		data, _ := proto.Marshal(env)
		msg := nats.NewMsg(scfg.EventSubject("proj-s"))
		msg.Data = data
		msg.Header.Set(jetstream.MsgIDHeader, fmt.Sprintf("proj-s:ev-%d", i))
		if _, err := js.PublishMsg(context.Background(), msg); err != nil {
			t.Fatal(err)
		}
	}

	admin := serve(t, scfg.Namespace, ch.Database)
	var failures map[string]string
	eventually(t, "the schema failure in /ready", func() bool {
		var code int
		code, failures = readiness(t, admin)
		return code == http.StatusServiceUnavailable && strings.Contains(failures["schema"], "missing")
	})
	if !strings.Contains(failures["schema"], "agenttrace-worker migrate up") {
		t.Errorf("schema failure %q does not say what to run", failures["schema"])
	}
	// Connected and waiting: give the consumer time in which it would
	// have fetched (fetch wait 200 ms), had it not waited.
	time.Sleep(1500 * time.Millisecond)
	if n := streamMsgs(t, js, scfg.DeadLetterStream()); n != 0 {
		t.Fatalf("%d messages dead-lettered before the schema existed", n)
	}
	if n := streamMsgs(t, js, scfg.EventsStream()); n != events {
		t.Fatalf("events stream holds %d messages before the schema, want %d", n, events)
	}

	if out, err := run(t, "migrate", "up"); err != nil {
		t.Fatalf("migrate up: %v %s", err, out)
	}
	conn := testinfra.Conn(t, ch)
	eventually(t, "every early event written", func() bool {
		return len(testinfra.ReadRows(t, conn).Traces) == events
	})
	eventually(t, "readiness", func() bool { code, _ := readiness(t, admin); return code == http.StatusOK })
	if n := streamMsgs(t, js, scfg.DeadLetterStream()); n != 0 {
		t.Errorf("%d messages dead-lettered", n)
	}
}
