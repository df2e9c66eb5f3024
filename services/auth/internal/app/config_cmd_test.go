package app

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/agenttrace/agenttrace/pkg/config"
)

// The config command must work without any valid environment (the chart
// test runs it on a bare machine) and list auth's secrets as secrets.
func TestConfigCommandPrintsVariables(t *testing.T) {
	t.Setenv("AGENTTRACE_AUTH_CACHE_TTL", "not-a-duration") // would fail LoadConfig
	t.Setenv("AGENTTRACE_POSTGRES_PASSWORD", "a/b+c=d@e:f?g#h")
	var out, errOut bytes.Buffer
	if err := runProgram(context.Background(), []string{"config"}, &out, &errOut); err != nil {
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
		"AGENTTRACE_POSTGRES_URL":      true,
		"AGENTTRACE_POSTGRES_PASSWORD": true,
		"AGENTTRACE_MIGRATE_WAIT":      false,
		"AGENTTRACE_ENCRYPTION_KEY":    true,
		"AGENTTRACE_JWT_SECRET":        true,
		"AGENTTRACE_NATS_PASSWORD":     true,
		"AGENTTRACE_REDIS_PASSWORD":    true,
		"AGENTTRACE_AUTH_CACHE_TTL":    false,
		"AGENTTRACE_GRPC_ADDR":         false,
		"AGENTTRACE_INVITATION_TTL":    false,
	} {
		v, ok := got[name]
		if !ok || v.Secret != secret {
			t.Errorf("%s: listed %v, secret %v; want listed, secret %v", name, ok, v.Secret, secret)
		}
	}
	if got["AGENTTRACE_GRPC_ADDR"].Default != ":9083" {
		t.Errorf("GRPC_ADDR default = %q, want :9083", got["AGENTTRACE_GRPC_ADDR"].Default)
	}
	if bytes.Contains(out.Bytes(), []byte("postgres://")) {
		t.Error("the POSTGRES_URL default (a secret) was printed")
	}
	if bytes.Contains(out.Bytes(), []byte("a/b+c")) {
		t.Error("the password was printed")
	}
	if d := got["AGENTTRACE_MIGRATE_WAIT"].Default; d != "0s" {
		t.Errorf("MIGRATE_WAIT default = %q, want 0s (one attempt)", d)
	}
}
