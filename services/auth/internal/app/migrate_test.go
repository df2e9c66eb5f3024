package app

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/agenttrace/agenttrace/pkg/config"
	"github.com/agenttrace/agenttrace/pkg/tcpproxy"
	"github.com/agenttrace/agenttrace/services/auth/internal/pgstore"
	"github.com/agenttrace/agenttrace/services/auth/internal/pgtest"
)

// withHost is u (a test database URL) pointed at another host:port.
func withHost(t *testing.T, u config.Secret, host string) string {
	t.Helper()
	p, err := url.Parse(u.Value())
	if err != nil {
		t.Fatal(err)
	}
	p.Host = host
	return p.String()
}

func hostOf(t *testing.T, u config.Secret) string {
	t.Helper()
	p, err := url.Parse(u.Value())
	if err != nil {
		t.Fatal(err)
	}
	return p.Host
}

func freeAddr(t *testing.T) string {
	t.Helper()
	addr, err := tcpproxy.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

const retryLog = `"msg":"store not reachable yet; retrying"`

// TestMigrateUpWaitsForPostgres: PostgreSQL appears (a proxy opens its port)
// while `migrate up` waits; it retries, then migrates.
func TestMigrateUpWaitsForPostgres(t *testing.T) {
	u := pgtest.FreshURL(t)
	addr := freeAddr(t)
	proxy := tcpproxy.Start(addr, hostOf(t, u), 1500*time.Millisecond)
	defer proxy.Close()
	t.Setenv("AGENTTRACE_MIGRATE_WAIT", "30s")
	t.Setenv("AGENTTRACE_POSTGRES_CONNECT_TIMEOUT", "1s")
	_, stderr, err := run(t, withHost(t, u, addr), "migrate", "up")
	if err != nil {
		t.Fatalf("migrate up: %v\n%s", err, stderr)
	}
	for _, want := range []string{retryLog, `"store":"PostgreSQL"`, `"attempt":1`, "connection refused", `"msg":"schema migrated"`} {
		if !strings.Contains(stderr, want) {
			t.Errorf("logs lack %s:\n%s", want, stderr)
		}
	}
	if stdout, _, _ := run(t, u.Value(), "migrate", "version"); stdout != fmt.Sprintf("%d\n", pgstore.LatestVersion()) {
		t.Errorf("version after waiting = %q", stdout)
	}
}

func TestMigrateUpWait(t *testing.T) {
	u := pgtest.FreshURL(t)
	closed := withHost(t, u, freeAddr(t))
	unknownRole, err := url.Parse(u.Value())
	if err != nil {
		t.Fatal(err)
	}
	unknownRole.User = url.User("agenttrace_no_such_role")
	tests := []struct {
		name        string
		url, wait   string
		wantIn      []string // in the error
		wantRetries bool
		maxTime     time.Duration
	}{
		{"gives up after the wait, naming store and wait", closed, "2s",
			[]string{"PostgreSQL", "2s", "AGENTTRACE_MIGRATE_WAIT", "connection refused"}, true, 10 * time.Second},
		{"no wait tries once", closed, "0s", []string{"connection refused"}, false, 5 * time.Second},
		{"refusals end the wait at once", unknownRole.String(), "1m", []string{"agenttrace_no_such_role"}, false, 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("AGENTTRACE_MIGRATE_WAIT", tt.wait)
			start := time.Now()
			_, stderr, err := run(t, tt.url, "migrate", "up")
			took := time.Since(start)
			if err == nil {
				t.Fatal("migrate up succeeded")
			}
			for _, want := range tt.wantIn {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			if got := strings.Contains(stderr, retryLog); got != tt.wantRetries {
				t.Errorf("retried = %v, want %v:\n%s", got, tt.wantRetries, stderr)
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
	u := pgtest.FreshURL(t)
	if _, stderr, err := run(t, u.Value(), "migrate", "up"); err != nil {
		t.Fatalf("migrate up: %v\n%s", err, stderr)
	}
	newer := pgstore.LatestVersion() + 1
	pool := pgtest.Pool(t, u)
	if _, err := pool.Exec(context.Background(), "UPDATE schema_migrations SET version = $1", newer); err != nil {
		t.Fatal(err)
	}
	_, stderr, err := run(t, u.Value(), "migrate", "up")
	if err != nil {
		t.Fatalf("migrate up on a newer schema: %v\n%s", err, stderr)
	}
	for _, want := range []string{"schema is newer than this binary", fmt.Sprintf(`"version":%d`, newer), fmt.Sprintf(`"latest":%d`, pgstore.LatestVersion())} {
		if !strings.Contains(stderr, want) {
			t.Errorf("logs lack %s:\n%s", want, stderr)
		}
	}
	if stdout, _, _ := run(t, u.Value(), "migrate", "version"); stdout != fmt.Sprintf("%d\n", newer) {
		t.Errorf("version after = %q, want %d untouched", stdout, newer)
	}
}

// The password of a generated secret (URL-reserved characters) is given
// on its own, the URL carrying none: pool, database creation and
// migrations all use it.
func TestPostgresPasswordSetting(t *testing.T) {
	const password = "a/b+c=d@e:f?g#h%20'x"
	super := pgtest.URL(t)
	ctx := context.Background()
	admin := pgtest.Pool(t, super)
	role := pgx.Identifier{"agenttrace_pw_" + strings.ToLower(rand.Text()[:10])}
	// Dropped after the database (cleanups run last first).
	t.Cleanup(func() { _, _ = admin.Exec(context.Background(), "DROP ROLE IF EXISTS "+role.Sanitize()) })
	if _, err := admin.Exec(ctx, "CREATE ROLE "+role.Sanitize()+" LOGIN CREATEDB PASSWORD "+quote(password)); err != nil {
		t.Fatal(err)
	}
	u := pgtest.FreshURL(t)
	asRole, err := url.Parse(u.Value())
	if err != nil {
		t.Fatal(err)
	}
	asRole.User = url.User(role[0]) // no password in the URL

	t.Setenv("AGENTTRACE_POSTGRES_PASSWORD", password)
	if _, stderr, err := run(t, asRole.String(), "migrate", "up"); err != nil {
		t.Fatalf("migrate up (creates the database as the role): %v\n%s", err, stderr)
	}
	stdout, stderr, err := run(t, asRole.String(), "bootstrap", "--org", "o", "--project", "p")
	if err != nil || !strings.Contains(stdout, "sk-at-") {
		t.Fatalf("bootstrap (the pool): %q, %v\n%s", stdout, err, stderr)
	}
	if strings.Contains(stderr, password) {
		t.Error("the password was logged")
	}
	cfg, err := Program().Load()
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgstore.Open(ctx, cfg.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var user string
	if err := pool.QueryRow(ctx, "SELECT current_user").Scan(&user); err != nil || user != role[0] {
		t.Fatalf("pool connects as %q, %v; want %s", user, err, role[0])
	}
	if err := pgstore.CheckSchema(ctx, pool); err != nil {
		t.Fatal(err)
	}

	// Only a server that asks for passwords can show that a wrong one
	// fails and the setting wins over the URL's; the local development
	// server trusts loopback.
	t.Setenv("AGENTTRACE_POSTGRES_PASSWORD", "wrong")
	_, _, wrongErr := run(t, asRole.String(), "migrate", "up")
	if wrongErr == nil {
		t.Log("server trusts this connection without a password; wrong-password checks skipped")
		return
	}
	if !strings.Contains(wrongErr.Error(), "password authentication failed") {
		t.Errorf("wrong password: %v", wrongErr)
	}
	t.Setenv("AGENTTRACE_POSTGRES_PASSWORD", password)
	asRole.User = url.UserPassword(role[0], "wrong")
	if _, stderr, err := run(t, asRole.String(), "migrate", "up"); err != nil {
		t.Errorf("the setting must win over the URL's password: %v\n%s", err, stderr)
	}
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
