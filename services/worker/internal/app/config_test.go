package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/agenttrace/agenttrace/pkg/config"
)

// The config command must work without a valid environment and list the
// worker's variables, secrets marked.
func TestConfigCommandPrintsVariables(t *testing.T) {
	t.Setenv("AGENTTRACE_WORKER_MUTATION_WAIT", "forever") // would fail LoadConfig
	var out bytes.Buffer
	if err := program(&out, nil).Run(context.Background(), []string{"config"}); err != nil {
		t.Fatal(err)
	}
	var vars []config.Var
	if err := json.Unmarshal(out.Bytes(), &vars); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out.String())
	}
	got := map[string]config.Var{}
	for _, v := range vars {
		got[v.Name] = v
	}
	for name, secret := range map[string]bool{
		"AGENTTRACE_CLICKHOUSE_PASSWORD":  true,
		"AGENTTRACE_JWT_SECRET":           true,
		"AGENTTRACE_NATS_PASSWORD":        true,
		"AGENTTRACE_WORKER_MUTATION_WAIT": false,
		"AGENTTRACE_ADMIN_ADDR":           false,
		"AGENTTRACE_MIGRATE_WAIT":         false,
	} {
		v, ok := got[name]
		if !ok || v.Secret != secret {
			t.Errorf("%s: listed %v, secret %v; want listed, secret %v", name, ok, v.Secret, secret)
		}
	}
	if d := got["AGENTTRACE_MIGRATE_WAIT"].Default; d != "0s" {
		t.Errorf("MIGRATE_WAIT default = %q, want 0s (one attempt)", d)
	}
	if got["AGENTTRACE_ADMIN_ADDR"].Default != ":9184" {
		t.Errorf("ADMIN_ADDR default = %q, want :9184", got["AGENTTRACE_ADMIN_ADDR"].Default)
	}
}
