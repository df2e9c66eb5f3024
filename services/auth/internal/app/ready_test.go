package app

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/agenttrace/agenttrace/services/auth/internal/pgstore"
	"github.com/agenttrace/agenttrace/services/auth/internal/pgtest"
)

// readiness fetches /ready: its status code and failing checks.
func readiness(t *testing.T, admin string) (int, map[string]string) {
	t.Helper()
	resp, err := http.Get("http://" + admin + "/ready")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Failures map[string]string `json:"failures"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body.Failures
}

// TestServeNotReadyUntilMigrated: auth started beside its migration Job
// serves but is not ready while the schema is missing, saying what to run,
// and turns ready as soon as `migrate up` has run.
func TestServeNotReadyUntilMigrated(t *testing.T) {
	u := pgtest.FreshURL(t)
	if _, err := pgstore.EnsureDatabase(context.Background(), pgstore.Config{URL: u}); err != nil {
		t.Fatal(err)
	}
	leaks := goleak.IgnoreCurrent()
	for k, v := range map[string]string{
		"AGENTTRACE_POSTGRES_URL":   u.Value(),
		"AGENTTRACE_GRPC_ADDR":      "127.0.0.1:0",
		"AGENTTRACE_ADMIN_ADDR":     "127.0.0.1:0",
		"AGENTTRACE_DRAIN_DELAY":    "0s",
		"AGENTTRACE_LOG_LEVEL":      "error",
		"AGENTTRACE_ENCRYPTION_KEY": base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32)),
		"AGENTTRACE_JWT_SECRET":     strings.Repeat("jwt-secret-", 4),
	} {
		t.Setenv(k, v)
	}
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
	<-sh.Ready()
	admin := sh.AdminAddr().String()

	code, failures := readiness(t, admin)
	if code != http.StatusServiceUnavailable || !strings.Contains(failures["schema"], "missing") ||
		!strings.Contains(failures["schema"], "agenttrace-auth migrate up") {
		t.Fatalf("/ready before migrating = %d %v; want 503 with a schema failure naming migrate up", code, failures)
	}
	if _, ok := failures["postgres"]; ok {
		t.Errorf("postgres reported failing: %v", failures)
	}

	if _, stderr, err := run(t, u.Value(), "migrate", "up"); err != nil {
		t.Fatalf("migrate up: %v\n%s", err, stderr)
	}
	// The failure was not cached: ready at the next probe.
	if code, failures := readiness(t, admin); code != http.StatusOK {
		t.Fatalf("/ready after migrating = %d %v", code, failures)
	}

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
