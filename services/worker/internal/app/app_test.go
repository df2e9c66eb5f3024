package app_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/agenttrace/agenttrace/pkg/chschema"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	"github.com/agenttrace/agenttrace/pkg/service"
	"github.com/agenttrace/agenttrace/services/worker/internal/app"
	"github.com/agenttrace/agenttrace/services/worker/internal/testinfra"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := program(&out, nil).Run(ctx, args)
	return out.String(), err
}

func TestLoadConfigDefaults(t *testing.T) {
	cfg, err := app.Program().Load()
	if err != nil {
		t.Fatal(err)
	}
	w := cfg.Worker
	if cfg.GRPCAddr != ":9084" || cfg.AdminAddr != ":9184" || cfg.Auth.Addr != "127.0.0.1:9083" ||
		cfg.Auth.CacheTTL != 10*time.Second || cfg.Stream.Namespace != "agenttrace" || cfg.ClickHouse.Database != "agenttrace" ||
		w.Durable != "worker" || w.FetchBatch != 256 || w.FlushRows != 50000 || w.FlushBytes != 16<<20 || w.FlushInterval != 200*time.Millisecond || w.FlushMaxInterval != 2*time.Second || w.InsertConcurrency != 2 ||
		w.MaxDeliver != 5 || w.AckWait != time.Minute || cfg.Retention.Interval != time.Hour || cfg.MutationWait != 10*time.Second {
		t.Errorf("defaults = %+v", cfg)
	}
	t.Setenv("AGENTTRACE_WORKER_FLUSH_ROWS", "7")
	t.Setenv("AGENTTRACE_GRPC_ADDR", ":1234")
	if cfg, err := app.Program().Load(); err != nil || cfg.Worker.FlushRows != 7 || cfg.GRPCAddr != ":1234" {
		t.Errorf("env not applied: %+v, %v", cfg, err)
	}
}

func TestLoadConfigRejectsBadSettings(t *testing.T) {
	for name, value := range map[string]string{
		"AGENTTRACE_WORKER_FLUSH_ROWS":         "0",
		"AGENTTRACE_WORKER_MAX_DELIVER":        "-1",
		"AGENTTRACE_WORKER_INSERT_CONCURRENCY": "0",
		"AGENTTRACE_WORKER_FLUSH_INTERVAL":     "0s",
		"AGENTTRACE_WORKER_FLUSH_BYTES":        "0",
		"AGENTTRACE_WORKER_FLUSH_MAX_INTERVAL": "100ms",
		"AGENTTRACE_WORKER_ACK_WAIT":           "100ms",
		"AGENTTRACE_WORKER_RETRY_BACKOFF":      "-1s",
		"AGENTTRACE_WORKER_FETCH_BATCH":        "many",
		"AGENTTRACE_WORKER_RETENTION_INTERVAL": "-1h",
		"AGENTTRACE_WORKER_ROLLUP_INTERVAL":    "-1m",
		"AGENTTRACE_WORKER_ROLLUP_SETTLE":      "1s",
		"AGENTTRACE_WORKER_MUTATION_WAIT":      "-1s",
		"AGENTTRACE_WORKER_PRICES_REFRESH":     "-1m",
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, value)
			if _, err := app.Program().Load(); err == nil {
				t.Errorf("%s=%q accepted", name, value)
			}
			if _, err := run(t, "migrate", "version"); err == nil {
				t.Errorf("command ran with %s=%q", name, value)
			}
		})
	}
}

func TestLoadConfigRejectsMutationWaitBeyondAckWait(t *testing.T) {
	t.Setenv("AGENTTRACE_WORKER_MUTATION_WAIT", "30s") // the ack wait is 60s
	if _, err := app.Program().Load(); err == nil || !strings.Contains(err.Error(), "WORKER_MUTATION_WAIT") {
		t.Errorf("LoadConfig = %v, want an error naming WORKER_MUTATION_WAIT", err)
	}
}

// TestServeNeedsJWTSecretForRetention: retention on (the default) without a
// usable secret refuses to start, naming the variable but not its value;
// the other commands do not need it.
func TestServeNeedsJWTSecretForRetention(t *testing.T) {
	for _, secret := range []string{"", "short-secret"} {
		t.Setenv("AGENTTRACE_JWT_SECRET", secret)
		_, err := run(t, "serve")
		if err == nil || !strings.Contains(err.Error(), "AGENTTRACE_JWT_SECRET") || !strings.Contains(err.Error(), "RETENTION_INTERVAL=0") ||
			(secret != "" && strings.Contains(err.Error(), secret)) {
			t.Errorf("serve with JWT secret %q = %v", secret, err)
		}
	}
	if _, err := run(t, "dlq", "replay", "abc"); !errors.Is(err, service.ErrUsage) {
		t.Errorf("dlq without a JWT secret = %v, want only the usage error", err)
	}
	// Cost computation (on by default) needs the secret as well.
	t.Setenv("AGENTTRACE_JWT_SECRET", "")
	t.Setenv("AGENTTRACE_WORKER_RETENTION_INTERVAL", "0")
	if _, err := run(t, "serve"); err == nil || !strings.Contains(err.Error(), "PRICES_REFRESH=0") {
		t.Errorf("serve without retention, with prices, without a JWT secret = %v", err)
	}
}

func TestRejectsBadCommandLines(t *testing.T) {
	for _, args := range [][]string{
		{"frobnicate"},
		{"serve", "extra"},
		{"migrate"},
		{"migrate", "sideways"},
		{"migrate", "up", "now"},
		{"migrate", "down", "0"},
		{"migrate", "down", "x"},
		{"dlq"},
		{"dlq", "purge"},
		{"dlq", "list", "extra"},
		{"dlq", "list", "--limit", "-1"},
		{"dlq", "replay"},
		{"dlq", "replay", "--all", "3"},
		{"dlq", "replay", "abc"},
		{"dlq", "replay", "0"},
	} {
		if _, err := run(t, args...); !errors.Is(err, service.ErrUsage) {
			t.Errorf("%q: err = %v, want ErrUsage", args, err)
		}
	}
}

func TestMigrateCommands(t *testing.T) {
	ch := testinfra.ClickHouseConfig(t)
	t.Setenv("AGENTTRACE_CLICKHOUSE_DATABASE", ch.Database)
	latest := chschema.LatestVersion()
	version := func(v uint) string { return fmt.Sprintf("version %d", v) }
	for _, step := range []struct {
		args []string
		want string
	}{
		{[]string{"migrate", "version"}, "no migrations applied"},
		{[]string{"migrate", "up"}, version(latest)},
		{[]string{"migrate", "up"}, version(latest)},
		{[]string{"migrate", "down"}, version(latest - 1)},
		{[]string{"migrate", "down", "--all"}, "no migrations applied"},
		{[]string{"migrate", "up"}, version(latest)},
		{[]string{"migrate", "down", "2"}, version(latest - 2)},
	} {
		out, err := run(t, step.args...)
		if err != nil || !strings.Contains(out, step.want) || !strings.Contains(out, ch.Database) {
			t.Fatalf("%q = %q, %v; want %q", step.args, out, err, step.want)
		}
	}
	t.Setenv("AGENTTRACE_CLICKHOUSE_ADDR", "127.0.0.1:1")
	t.Setenv("AGENTTRACE_CLICKHOUSE_DIAL_TIMEOUT", "1s")
	if _, err := run(t, "migrate", "up"); err == nil {
		t.Error("migrate up without a server succeeded")
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestServeDeadLetterReplayRoundTrip runs the service, lets a message fail
// into the dead-letter stream while the tables are missing (reverted after
// the worker started, which waits for them only at start), lists it,
// migrates, replays it and sees it stored.
func TestServeDeadLetterReplayRoundTrip(t *testing.T) {
	scfg, _, js := testinfra.NATS(t)
	ch := testinfra.ClickHouseConfig(t)
	t.Setenv("AGENTTRACE_CLICKHOUSE_DATABASE", ch.Database)
	if out, err := run(t, "migrate", "up"); err != nil {
		t.Fatalf("migrate up: %v %s", err, out)
	}
	admin := freeAddr(t)
	for k, v := range map[string]string{
		"AGENTTRACE_NATS_NAMESPACE":        scfg.Namespace,
		"AGENTTRACE_CLICKHOUSE_DATABASE":   ch.Database,
		"AGENTTRACE_GRPC_ADDR":             freeAddr(t),
		"AGENTTRACE_ADMIN_ADDR":            admin,
		"AGENTTRACE_AUTH_ADDR":             freeAddr(t), // health and reflection need no auth
		"AGENTTRACE_DRAIN_DELAY":           "0s",
		"AGENTTRACE_LOG_LEVEL":             "warn",
		"AGENTTRACE_WORKER_MAX_DELIVER":    "1",
		"AGENTTRACE_WORKER_FLUSH_INTERVAL": "20ms",
		"AGENTTRACE_WORKER_FETCH_WAIT":     "200ms",
		"AGENTTRACE_WORKER_RETRY_BACKOFF":  "50ms",
		// Retention and prices have their own tests (packages retention and
		// pricing, consumer's cost test); no secret here.
		"AGENTTRACE_WORKER_RETENTION_INTERVAL": "0",
		"AGENTTRACE_WORKER_PRICES_REFRESH":     "0",
	} {
		t.Setenv(k, v)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- program(io.Discard, io.Discard).Run(ctx, nil) }()
	defer func() {
		cancel()
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("serve = %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop")
		}
	}()
	eventually(t, "readiness", func() bool { code, _ := get(t, "http://"+admin+"/ready"); return code == http.StatusOK })
	if out, err := run(t, "migrate", "down", "--all"); err != nil {
		t.Fatalf("migrate down: %v %s", err, out)
	}

	env := &ingestv1.EventEnvelope{ProjectId: "proj-r", ReceivedAt: timestamppb.Now(), Events: []*ingestv1.IngestEvent{{
		Id: "ev-1", Timestamp: timestamppb.Now(), Type: ingestv1.EventType_EVENT_TYPE_TRACE_CREATE,
		Trace: &ingestv1.TraceBody{Id: "tr-1", Name: proto.String("replayed")},
	}}}
	data, _ := proto.Marshal(env)
	msg := nats.NewMsg(scfg.EventSubject("proj-r"))
	msg.Data = data
	msg.Header.Set(jetstream.MsgIDHeader, "proj-r:ev-1")
	if _, err := js.PublishMsg(ctx, msg); err != nil {
		t.Fatal(err)
	}

	var out string
	eventually(t, "the dead letter", func() bool {
		var err error
		out, err = run(t, "dlq", "list")
		return err == nil && strings.Count(out, "\n") == 2
	})
	for _, want := range []string{"SEQ", "REASON", "proj-r", "proj-r:ev-1", "doesn't exist"} {
		if !strings.Contains(out, want) {
			t.Errorf("dlq list output lacks %q:\n%s", want, out)
		}
	}
	if fields := strings.Fields(strings.Split(out, "\n")[1]); fields[0] != "1" || fields[3] != "1" || fields[4] != "1" {
		t.Errorf("dlq list row = %q; want seq 1, 1 delivery, 1 event", fields)
	}

	if out, err := run(t, "migrate", "up"); err != nil {
		t.Fatalf("migrate up: %v %s", err, out)
	}
	if out, err := run(t, "dlq", "replay", "1", "99"); err == nil || !strings.Contains(out, "replayed 1\n") ||
		!strings.Contains(out, "replayed 1 of 2") || !strings.Contains(err.Error(), "99") {
		t.Errorf("dlq replay 1 99 = %q, %v; want 1 replayed and an error for 99", out, err)
	}
	conn := testinfra.Conn(t, ch)
	eventually(t, "the replayed row", func() bool {
		rows := testinfra.ReadRows(t, conn)
		return len(rows.Traces) == 1 && rows.Traces[0].Name == "replayed"
	})
	if out, err := run(t, "dlq", "list"); err != nil || strings.Count(out, "\n") != 1 {
		t.Errorf("dlq list after replay = %q, %v; want only the header", out, err)
	}
	if out, err := run(t, "dlq", "replay", "--all"); err != nil || !strings.Contains(out, "replayed 0 of 0") {
		t.Errorf("dlq replay --all on an empty queue = %q, %v", out, err)
	}

	_, metrics := get(t, "http://"+admin+"/metrics")
	for _, name := range []string{
		`agenttrace_worker_rows_written_total{table="traces"} 1`,
		`agenttrace_worker_messages_total{outcome="dead_lettered"} 1`,
		`agenttrace_worker_messages_total{outcome="acked"} 1`,
		"agenttrace_worker_flush_duration_seconds_bucket", "agenttrace_worker_flush_rows_bucket",
		"agenttrace_worker_queue_depth", // The batch insert, then the message on its own.
		`agenttrace_clickhouse_insert_errors_total{table="traces"} 2`,
	} {
		if !strings.Contains(metrics, name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
}

func TestDLQCommandsFailWithoutStreams(t *testing.T) {
	testinfra.SkipIfShort(t)
	t.Setenv("AGENTTRACE_NATS_NAMESPACE", testinfra.UniqueName("wtest_none_"))
	if _, err := run(t, "dlq", "list"); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Errorf("dlq list = %v, want ErrStreamNotFound", err)
	}
	if _, err := run(t, "dlq", "replay", "--all"); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Errorf("dlq replay --all = %v, want ErrStreamNotFound", err)
	}
}

// program is the worker's program writing to stdout and stderr.
func program(stdout, stderr io.Writer) service.Program[app.Config] {
	p := app.Program()
	p.Stdout, p.Stderr = stdout, stderr
	return p
}
