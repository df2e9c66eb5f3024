package cluster

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/agenttrace/agenttrace/pkg/tcpproxy"
)

// The stores `make test` runs on this machine (scripts/deps.sh), on loopback.
var hostStores = map[string]int{"postgres": 5432, "clickhouse": 9000, "redis": 6379, "nats": 4222}

// forward makes a loopback-only server of the host reachable from the
// pods: it listens on the node's address and forwards to 127.0.0.1.
func forward(t *testing.T, addr, target string) {
	t.Helper()
	p := tcpproxy.Start(addr, target, 0)
	t.Cleanup(func() { p.Close() })
	err := eventually(t.Context(), 10*time.Second, 100*time.Millisecond, func(context.Context) error {
		if err := p.Err(); err != nil {
			return err
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return err
		}
		return c.Close()
	})
	if err != nil {
		t.Fatalf("forward %s to %s for the pods: %v", addr, target, err)
	}
}

// guideSecret is the shared Secret as charts/agenttrace/README.md tells an
// operator to make it with openssl: base64 passwords (with "/", "+" and
// "="), a base64 encryption key, and no nats-password. The stores on the
// host have no password for ClickHouse and Redis (empty values).
func guideSecret(name, ns, pgPassword, encryptionKey string) string {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	return fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata: {name: %s, namespace: %s}
data:
  postgres-password: %s
  clickhouse-password: ""
  redis-password: ""
  jwt-secret: %s
  encryption-key: %s
`, name, ns, b64(pgPassword), b64(opensslBase64(48)), b64(encryptionKey))
}

// opensslBase64 is `openssl rand -base64 n`.
func opensslBase64(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// hostCommand runs a client of the host's stores.
func hostCommand(ctx context.Context, name string, args ...string) error {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// externalStores is step 6: the release with deploy: false for all four
// stores, using the ones on the host, and a Secret made with the guide's
// commands; checks 1 and 2 again.
func (r *run) externalStores(t *testing.T) {
	ctx := t.Context()
	for _, port := range hostStores {
		forward(t, fmt.Sprintf("%s:%d", r.env.NodeIP, port), fmt.Sprintf("127.0.0.1:%d", port))
	}
	// A database, a role with a password that needs URL escaping, a
	// ClickHouse database and a NATS namespace of this run only.
	name := "agenttrace_k8s_" + randomHex(4)
	pgPassword := "a/b+c=" + opensslBase64(24)
	pg := "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	if err := hostCommand(ctx, "psql", pg, "-v", "ON_ERROR_STOP=1", "-qc",
		fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", name, pgPassword), "-qc", fmt.Sprintf("CREATE DATABASE %s OWNER %s", name, name)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, err := range []error{
			hostCommand(ctx, "psql", pg, "-qc", fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name), "-qc", "DROP ROLE IF EXISTS "+name),
			hostCommand(ctx, "clickhouse-client", "--host", "127.0.0.1", "-q", "DROP DATABASE IF EXISTS "+name),
			deleteStreams(ctx, name),
		} {
			if err != nil {
				t.Logf("cleaning up the host's stores: %v", err)
			}
		}
	})

	if err := r.namespace(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if _, err := r.k.helm(ctx, "uninstall", r.release, "-n", r.ns, "--wait", "--timeout", "3m"); err != nil {
			t.Logf("cleanup: %v", err)
		}
		if _, err := r.k.kubectl(ctx, "delete", "namespace", r.ns, "--timeout=3m"); err != nil {
			t.Logf("cleanup: %v", err)
		}
	})
	secret := "agenttrace-external-secrets"
	if err := r.k.apply(ctx, guideSecret(secret, r.ns, pgPassword, opensslBase64(32))); err != nil {
		t.Fatal(err)
	}
	external := []string{
		"--set", "global.existingSecret=" + secret,
		"--set", "postgres.deploy=false", "--set", "postgres.host=" + r.env.NodeIP,
		"--set", "postgres.user=" + name, "--set", "postgres.database=" + name,
		"--set", "clickhouse.deploy=false", "--set", "clickhouse.host=" + r.env.NodeIP, "--set", "clickhouse.database=" + name,
		"--set", "redis.deploy=false", "--set", "redis.host=" + r.env.NodeIP,
		"--set", "nats.deploy=false", "--set", "nats.host=" + r.env.NodeIP,
		"--set", "config.nats.namespace=" + name,
		"--set", "networkPolicy.externalEgress.cidrs={" + r.env.NodeIP + "/32}",
	}

	// The guide's old command for the key, `openssl rand -hex 16`, is
	// refused when the chart renders, with the command that works.
	bad := "agenttrace-bad-key"
	if err := r.k.apply(ctx, guideSecret(bad, r.ns, pgPassword, randomHex(16))); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"install", r.release, chartDir, "-n", r.ns, "--dry-run=server"}, r.values()...)
	args = append(append(args, external...), "--set", "global.existingSecret="+bad)
	if _, err := r.k.helm(ctx, args...); err == nil || !strings.Contains(err.Error(), "openssl rand -base64 32") {
		t.Errorf("install with a 16-byte hex encryption-key: want refused naming `openssl rand -base64 32`, got %v", err)
	}

	r.helmInstall(t, external...)
	r.checkInstalled(t, 14)
	if !t.Failed() {
		r.endToEnd(t)
	}
}

// deleteStreams removes the JetStream streams of a NATS namespace from the
// host's NATS.
func deleteStreams(ctx context.Context, namespace string) error {
	nc, err := nats.Connect("nats://127.0.0.1:4222")
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	var errs []error
	for _, s := range []string{"_EVENTS", "_DLQ"} {
		if err := js.DeleteStream(ctx, strings.ToUpper(namespace)+s); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
