package app

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/goleak"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/pkg/secretbox"
	"github.com/agenttrace/agenttrace/pkg/service"
	"github.com/agenttrace/agenttrace/services/auth/internal/pgstore"
	"github.com/agenttrace/agenttrace/services/auth/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// run executes the command line with the database at url.
func run(t *testing.T, url string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	t.Setenv("AGENTTRACE_POSTGRES_URL", url)
	t.Setenv("AGENTTRACE_LOG_LEVEL", "debug")
	var out, errOut bytes.Buffer
	err = runProgram(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestMigrateUpTwiceAndVersion(t *testing.T) {
	u := pgtest.FreshURL(t).Value()
	for i := range 2 {
		stdout, stderr, err := run(t, u, "migrate", "up")
		if err != nil {
			t.Fatalf("migrate up #%d: %v\n%s", i+1, err, stderr)
		}
		if stdout != "" {
			t.Fatalf("migrate up printed %q on stdout", stdout)
		}
	}
	stdout, _, err := run(t, u, "migrate", "version")
	latest := pgstore.LatestVersion()
	if err != nil || stdout != fmt.Sprintf("%d\n", latest) {
		t.Fatalf("migrate version = %q, %v; want %d", stdout, err, latest)
	}
	if _, _, err := run(t, u, "migrate", "down", "2"); err != nil {
		t.Fatal(err)
	}
	if stdout, _, _ := run(t, u, "migrate", "version"); stdout != fmt.Sprintf("%d\n", latest-2) {
		t.Fatalf("after down 2: version %q", stdout)
	}
	if _, _, err := run(t, u, "migrate", "down", fmt.Sprint(latest-2)); err != nil {
		t.Fatal(err)
	}
	if stdout, _, _ := run(t, u, "migrate", "version"); stdout != "0\n" {
		t.Fatalf("after down: version %q", stdout)
	}
	if _, _, err := run(t, u, "migrate", "force", "0"); err != nil {
		t.Fatal(err)
	}
}

func TestBootstrap(t *testing.T) {
	u := pgtest.URL(t).Value()
	org := "org-" + uuid.NewString()
	var first BootstrapOutput
	for i := range 2 {
		stdout, stderr, err := run(t, u, "bootstrap", "--org", org, "--project", "web", "--note", "local")
		if err != nil {
			t.Fatalf("bootstrap: %v\n%s", err, stderr)
		}
		// Exactly one JSON object with exactly these fields, nothing else.
		dec := json.NewDecoder(strings.NewReader(stdout))
		dec.DisallowUnknownFields()
		var got BootstrapOutput
		if err := dec.Decode(&got); err != nil {
			t.Fatalf("stdout %q: %v", stdout, err)
		}
		if dec.More() || strings.Count(stdout, "\n") != 1 {
			t.Fatalf("stdout holds more than one JSON object: %q", stdout)
		}
		var fields map[string]any
		if err := json.Unmarshal([]byte(stdout), &fields); err != nil || len(fields) != 5 {
			t.Fatalf("stdout fields %v, %v", fields, err)
		}
		if !strings.HasPrefix(got.PublicKey, "pk-at-") || len(got.PublicKey) != 32 ||
			!strings.HasPrefix(got.SecretKey, "sk-at-") || len(got.SecretKey) != 49 {
			t.Fatalf("key pair %q %q", got.PublicKey, got.SecretKey)
		}
		for _, id := range []string{got.OrganizationID, got.ProjectID, got.KeyID} {
			if uuid.Validate(id) != nil {
				t.Fatalf("id %q is not a UUID", id)
			}
		}
		if strings.Contains(stderr, got.SecretKey) {
			t.Fatal("the secret was logged")
		}
		if i == 0 {
			first = got
			continue
		}
		// Run again: the same organization and project, a new key.
		if got.OrganizationID != first.OrganizationID || got.ProjectID != first.ProjectID {
			t.Fatalf("second bootstrap made new org/project: %+v vs %+v", got, first)
		}
		if got.KeyID == first.KeyID || got.SecretKey == first.SecretKey {
			t.Fatal("second bootstrap reused the key")
		}
	}
}

func TestBootstrapWithoutSchema(t *testing.T) {
	u := pgtest.FreshURL(t).Value()
	stdout, _, err := run(t, u, "bootstrap", "--org", "o", "--project", "p")
	if err == nil || !strings.Contains(err.Error(), "migrate up") {
		t.Fatalf("bootstrap on a missing database: %v; want a hint to run migrate up", err)
	}
	if stdout != "" {
		t.Fatalf("stdout %q on failure", stdout)
	}
}

func TestUsageErrors(t *testing.T) {
	u := pgtest.URL(t).Value()
	tests := []struct {
		name string
		args []string
	}{
		{"unknown command", []string{"frobnicate"}},
		{"serve with args", []string{"serve", "now"}},
		{"migrate without subcommand", []string{"migrate"}},
		{"unknown migrate subcommand", []string{"migrate", "sideways"}},
		{"migrate up with args", []string{"migrate", "up", "1"}},
		{"migrate down bad steps", []string{"migrate", "down", "-1"}},
		{"migrate down two args", []string{"migrate", "down", "1", "2"}},
		{"migrate force no version", []string{"migrate", "force"}},
		{"migrate force bad version", []string{"migrate", "force", "x"}},
		{"migrate version with args", []string{"migrate", "version", "now"}},
		{"bootstrap without flags", []string{"bootstrap"}},
		{"bootstrap without project", []string{"bootstrap", "--org", "o"}},
		{"bootstrap unknown flag", []string{"bootstrap", "--org", "o", "--project", "p", "--admin"}},
		{"bootstrap extra args", []string{"bootstrap", "--org", "o", "--project", "p", "extra"}},
		{"bootstrap blank name", []string{"bootstrap", "--org", " ", "--project", "p"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, _, err := run(t, u, tt.args...)
			if err == nil {
				t.Fatal("want an error")
			}
			if stdout != "" {
				t.Fatalf("stdout %q on a usage error", stdout)
			}
		})
	}
	if _, stderr, err := run(t, u, "help"); err != nil || !strings.Contains(stderr, "bootstrap --org") {
		t.Fatalf("help = %v, %q", err, stderr)
	}
}

func TestBadConfig(t *testing.T) {
	t.Setenv("AGENTTRACE_AUTH_CACHE_TTL", "soon")
	if err := runProgram(context.Background(), []string{"serve"}, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
		t.Fatal("a malformed duration must fail")
	}
}

// TestServeNeedsEncryptionKey: without the key (or with a malformed one)
// serve refuses to start, naming the setting and never echoing the value.
func TestServeNeedsEncryptionKey(t *testing.T) {
	tests := []struct {
		name, key string
		want      error
	}{
		{"missing", "", secretbox.ErrNoKey},
		{"malformed", "not-a-key-shh-secret", secretbox.ErrInvalidKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("AGENTTRACE_ENCRYPTION_KEY", tt.key)
			cfg, err := Program().Load()
			if err != nil {
				t.Fatal(err)
			}
			_, err = newShell(context.Background(), cfg)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), "AGENTTRACE_ENCRYPTION_KEY") {
				t.Fatalf("newShell = %v, want %v naming AGENTTRACE_ENCRYPTION_KEY", err, tt.want)
			}
			if strings.Contains(err.Error(), "shh-secret") {
				t.Fatalf("the key was echoed: %v", err)
			}
		})
	}
}

// TestServe runs the real wiring: it serves, authenticates with a
// bootstrapped key, reports ready, and shuts down cleanly.
func TestServe(t *testing.T) {
	u := pgtest.URL(t).Value()
	stdout, _, err := run(t, u, "bootstrap", "--org", "serve-"+uuid.NewString(), "--project", "p")
	if err != nil {
		t.Fatal(err)
	}
	var key BootstrapOutput
	if err := json.Unmarshal([]byte(stdout), &key); err != nil {
		t.Fatal(err)
	}
	leaks := goleak.IgnoreCurrent()
	t.Setenv("AGENTTRACE_GRPC_ADDR", "127.0.0.1:0")
	t.Setenv("AGENTTRACE_ADMIN_ADDR", "127.0.0.1:0")
	t.Setenv("AGENTTRACE_DRAIN_DELAY", "0s")
	t.Setenv("AGENTTRACE_LOG_LEVEL", "error")
	t.Setenv("AGENTTRACE_ENCRYPTION_KEY", base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32)))
	t.Setenv("AGENTTRACE_JWT_SECRET", strings.Repeat("jwt-secret-", 4))
	cfg, err := Program().Load()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sh, err := newShell(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- sh.Run(ctx) }()
	select {
	case <-sh.Ready():
	case err := <-done:
		t.Fatalf("serve stopped: %v", err)
	}

	conn, err := service.Dial(sh.GRPCAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	client := authv1.NewAuthServiceClient(conn)
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(key.PublicKey+":"+key.SecretKey))
	callCtx := metadata.AppendToOutgoingContext(ctx, "authorization", auth)
	list, err := client.ListProjects(callCtx, &authv1.ListProjectsRequest{})
	if err != nil || len(list.GetProjects()) != 1 || list.GetProjects()[0].GetId() != key.ProjectID {
		t.Fatalf("ListProjects = %v, %v", list, err)
	}
	if _, err := client.ListProjects(ctx, &authv1.ListProjectsRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("unauthenticated call: %v", err)
	}
	// IdentityService is served, and Login needs no credentials.
	_, err = authv1.NewIdentityServiceClient(conn).Login(ctx, &authv1.LoginRequest{
		Email: "nobody-" + uuid.NewString() + "@example.com", Password: "not the password"})
	if status.Code(err) != codes.Unauthenticated || status.Convert(err).Message() != "invalid email or password" {
		t.Fatalf("Login without credentials: %v", err)
	}
	if _, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatalf("health: %v", err)
	}
	resp, err := http.Get("http://" + sh.AdminAddr().String() + "/ready")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/ready = %d", resp.StatusCode)
	}
	conn.Close()

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	http.DefaultClient.CloseIdleConnections()
	goleak.VerifyNone(t, leaks)
}

// runProgram runs the auth program with its output in stdout and stderr.
func runProgram(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	p := Program()
	p.Stdout, p.Stderr = stdout, stderr
	return p.Run(ctx, args)
}
