package chart

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Services are the five AgentTrace services; each has cmd/<name> in
// services/<name> and an image named agenttrace-<name>.
var Services = []string{"gateway", "ingest", "query", "auth", "worker"}

// Var is one variable of a service, as its `config` command prints it
// (pkg/config.Var; copied so this module does not depend on pkg).
type Var struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Default  string `json:"default"`
	Required bool   `json:"required"`
	Secret   bool   `json:"secret"`
}

// ServiceVars runs `go run ./cmd/<svc> config` in the service's module and
// returns the AGENTTRACE_* variables the service reads, by name. It uses
// the service's own code, so the contract can never drift from it.
func ServiceVars(repoRoot, svc string) (map[string]Var, error) {
	cmd := exec.Command("go", "run", "./cmd/"+svc, "config")
	cmd.Dir = filepath.Join(repoRoot, "services", svc)
	// The caller's AGENTTRACE_* settings must not shape the answer.
	cmd.Env = append(withoutAgentTrace(os.Environ()), "GOWORK=off")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s config: %w\n%s", svc, err, stderr.String())
	}
	var vars []Var
	if err := json.Unmarshal(stdout.Bytes(), &vars); err != nil {
		return nil, fmt.Errorf("%s config: output is not a JSON list of variables: %w", svc, err)
	}
	if len(vars) == 0 {
		return nil, fmt.Errorf("%s config: no variables", svc)
	}
	out := make(map[string]Var, len(vars))
	for _, v := range vars {
		out[v.Name] = v
	}
	return out, nil
}

func withoutAgentTrace(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "AGENTTRACE_") {
			out = append(out, kv)
		}
	}
	return out
}
