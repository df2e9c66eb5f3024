package app

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/agenttrace/agenttrace/pkg/config"
	"github.com/agenttrace/agenttrace/pkg/service"
)

func TestRunRejectsUnknownCommand(t *testing.T) {
	err := Program().Run(context.Background(), []string{"migrate"})
	if !errors.Is(err, service.ErrUsage) || !strings.Contains(err.Error(), `unknown command "migrate"`) {
		t.Errorf("Run(migrate) = %v, want unknown command", err)
	}
}

// DefaultConfig is what `agenttrace-gateway config` describes: the gateway
// holds no secrets, and its addresses carry their defaults.
func TestConfigDescribesGatewayVariables(t *testing.T) {
	vars, err := config.Describe(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]config.Var{}
	for _, v := range vars {
		if v.Secret {
			t.Errorf("%s is a secret; the gateway should hold none", v.Name)
		}
		got[v.Name] = v
	}
	for name, def := range map[string]string{
		"AGENTTRACE_HTTP_ADDR":   ":8080",
		"AGENTTRACE_GRPC_ADDR":   ":9080",
		"AGENTTRACE_AUTH_ADDR":   "127.0.0.1:9083",
		"AGENTTRACE_INGEST_ADDR": "127.0.0.1:9081",
	} {
		if got[name].Default != def {
			t.Errorf("%s default = %q, want %q", name, got[name].Default, def)
		}
	}
}
