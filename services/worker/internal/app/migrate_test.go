package app_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/agenttrace/agenttrace/pkg/chschema"
	"github.com/agenttrace/agenttrace/pkg/tcpproxy"
	"github.com/agenttrace/agenttrace/services/worker/internal/chmigrate"
	"github.com/agenttrace/agenttrace/services/worker/internal/testinfra"
)

// runLogged is run with the command's logs (JSON) returned too.
func runLogged(t *testing.T, args ...string) (stdout, logs string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = program(&out, &errOut).Run(ctx, args)
	return out.String(), errOut.String(), err
}

func closedAddr(t *testing.T) string {
	t.Helper()
	addr, err := tcpproxy.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

const retryLog = `"msg":"store not reachable yet; retrying"`

// TestMigrateUpWaitsForClickHouse: ClickHouse appears (a proxy opens its
// port) while `migrate up` waits; it retries, then migrates.
func TestMigrateUpWaitsForClickHouse(t *testing.T) {
	ch := testinfra.ClickHouseConfig(t)
	addr := closedAddr(t)
	proxy := tcpproxy.Start(addr, ch.Addr, 1500*time.Millisecond)
	defer proxy.Close()
	t.Setenv("AGENTTRACE_CLICKHOUSE_DATABASE", ch.Database)
	t.Setenv("AGENTTRACE_CLICKHOUSE_ADDR", addr)
	t.Setenv("AGENTTRACE_CLICKHOUSE_DIAL_TIMEOUT", "1s")
	t.Setenv("AGENTTRACE_MIGRATE_WAIT", "30s")
	out, logs, err := runLogged(t, "migrate", "up")
	if err != nil {
		t.Fatalf("migrate up: %v\n%s", err, logs)
	}
	if want := fmt.Sprintf("version %d", chschema.LatestVersion()); !strings.Contains(out, want) {
		t.Errorf("migrate up printed %q, want %q", out, want)
	}
	for _, want := range []string{retryLog, `"level":"INFO"`, `"store":"ClickHouse"`, `"attempt":1`, "connection refused"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s:\n%s", want, logs)
		}
	}
}

func TestMigrateUpWait(t *testing.T) {
	ch := testinfra.ClickHouseConfig(t)
	t.Setenv("AGENTTRACE_CLICKHOUSE_DATABASE", ch.Database)
	t.Setenv("AGENTTRACE_CLICKHOUSE_DIAL_TIMEOUT", "1s")
	closed := closedAddr(t)
	tests := []struct {
		name        string
		addr, user  string
		wait        string
		wantIn      []string // in the error
		wantRetries bool
		maxTime     time.Duration
	}{
		{"gives up after the wait, naming store and wait", closed, "default", "2s",
			[]string{"ClickHouse", "2s", "AGENTTRACE_MIGRATE_WAIT", "connection refused"}, true, 10 * time.Second},
		{"no wait tries once", closed, "default", "0s", []string{"connection refused"}, false, 5 * time.Second},
		{"refusals end the wait at once", ch.Addr, "agenttrace_no_such_user", "1m", []string{"agenttrace_no_such_user"}, false, 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("AGENTTRACE_CLICKHOUSE_ADDR", tt.addr)
			t.Setenv("AGENTTRACE_CLICKHOUSE_USER", tt.user)
			t.Setenv("AGENTTRACE_MIGRATE_WAIT", tt.wait)
			start := time.Now()
			_, logs, err := runLogged(t, "migrate", "up")
			took := time.Since(start)
			if err == nil {
				t.Fatal("migrate up succeeded")
			}
			for _, want := range tt.wantIn {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			if got := strings.Contains(logs, retryLog); got != tt.wantRetries {
				t.Errorf("retried = %v, want %v:\n%s", got, tt.wantRetries, logs)
			}
			if took > tt.maxTime {
				t.Errorf("took %s, want at most %s", took, tt.maxTime)
			}
		})
	}
}

// TestMigrateUpLeavesNewerSchema: the Job of an older release (after a
// rollback) succeeds without touching a newer schema.
func TestMigrateUpLeavesNewerSchema(t *testing.T) {
	ch, conn := testinfra.ClickHouse(t)
	t.Setenv("AGENTTRACE_CLICKHOUSE_DATABASE", ch.Database)
	newer := chschema.LatestVersion() + 1
	d, err := chmigrate.NewDriver(context.Background(), conn)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SetVersion(int(newer), false); err != nil {
		t.Fatal(err)
	}
	out, logs, err := runLogged(t, "migrate", "up")
	if err != nil {
		t.Fatalf("migrate up on a newer schema: %v\n%s", err, logs)
	}
	if want := fmt.Sprintf("version %d\n", newer); !strings.HasSuffix(out, want) {
		t.Errorf("migrate up printed %q, want %q", out, want)
	}
	for _, want := range []string{"schema is newer than this binary", fmt.Sprintf(`"version":%d`, newer), fmt.Sprintf(`"latest":%d`, chschema.LatestVersion())} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s:\n%s", want, logs)
		}
	}
}
