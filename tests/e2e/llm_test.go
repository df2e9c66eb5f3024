package e2e

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
)

// createLLMConnection creates an LLM connection of project as u.
func (s *stack) createLLMConnection(t *testing.T, u *user, project, name, apiKey string) *authv1.LLMConnection {
	t.Helper()
	var out authv1.CreateLLMConnectionResponse
	r := s.asUser(u, project).send(t, http.MethodPost, "/api/v1/llm-connections", &authv1.CreateLLMConnectionRequest{
		ProjectId: project, Provider: "openai", Name: name, BaseUrl: "https://api.openai.example/v1", ApiKey: apiKey,
	}, &out)
	c := out.GetConnection()
	if r.status != http.StatusOK || c.GetId() == "" || c.GetProjectId() != project || c.GetName() != name {
		t.Fatalf("create LLM connection %q: want 200 with the connection, got %s", name, r)
	}
	return c
}

// TestLLMConnections checks the write-only API key of an LLM connection:
// stored (encrypted), shown only as a masked hint, in every answer.
func TestLLMConnections(t *testing.T) {
	s := requireStack(t)
	founder, org := s.founder(t)
	project := s.createProject(t, founder, org, "llm-"+randomHex(3)).GetId()
	c := s.asUser(founder, project)
	key1, key2 := "sk-proj-"+randomHex(24), "sk-proj-"+randomHex(24)
	name := "openai-" + randomHex(3)

	var created authv1.CreateLLMConnectionResponse
	r := c.send(t, http.MethodPost, "/api/v1/llm-connections", &authv1.CreateLLMConnectionRequest{
		ProjectId: project, Provider: "openai", Name: name, BaseUrl: "https://api.openai.example/v1", ApiKey: key1,
	}, &created)
	if r.status != http.StatusOK {
		t.Fatalf("create: %s", r)
	}
	conn := created.GetConnection()
	if conn.GetId() == "" || conn.GetProvider() != "openai" || conn.GetBaseUrl() != "https://api.openai.example/v1" ||
		conn.GetCreatedAt() == nil || conn.GetApiKeyHint() == "" {
		t.Errorf("create: unexpected connection %v", conn)
	}
	checkMasked(t, "create", r, key1)

	list := func(what string) *authv1.LLMConnection {
		t.Helper()
		r := c.do(t, http.MethodGet, "/api/v1/llm-connections?project_id="+project, nil)
		if r.status != http.StatusOK {
			t.Fatalf("%s: list: %s", what, r)
		}
		checkMasked(t, what+": list", r, key1, key2)
		var out authv1.ListLLMConnectionsResponse
		if err := strictJSON.Unmarshal(r.body, &out); err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(out.GetConnections(), func(lc *authv1.LLMConnection) bool { return lc.GetId() == conn.GetId() })
		if i < 0 {
			return nil
		}
		return out.GetConnections()[i]
	}
	if got := list("after create"); got == nil || got.GetApiKeyHint() != conn.GetApiKeyHint() || got.GetName() != name {
		t.Errorf("list after create: want the connection with hint %q, got %v", conn.GetApiKeyHint(), got)
	}

	t.Run("names are unique in a project", func(t *testing.T) {
		r := c.send(t, http.MethodPost, "/api/v1/llm-connections", &authv1.CreateLLMConnectionRequest{
			ProjectId: project, Provider: "anthropic", Name: name, ApiKey: "sk-ant-" + randomHex(20),
		}, nil)
		if !refused(r) {
			t.Errorf("a second connection named %q: want a 4xx, got %s", name, r)
		}
	})

	t.Run("update", func(t *testing.T) {
		var out authv1.UpdateLLMConnectionResponse
		r := c.send(t, http.MethodPatch, "/api/v1/llm-connections/"+conn.GetId(), &authv1.UpdateLLMConnectionRequest{ApiKey: proto.String(key2)}, &out)
		if r.status != http.StatusOK {
			t.Fatalf("update the key: %s", r)
		}
		checkMasked(t, "update the key", r, key1, key2)
		hint := out.GetConnection().GetApiKeyHint()
		showsTail := strings.HasSuffix(conn.GetApiKeyHint(), key1[len(key1)-4:])
		if hint == "" || showsTail && !strings.HasSuffix(hint, key2[len(key2)-4:]) {
			t.Errorf("update the key: the hint %q does not follow the new key", hint)
		}
		r = c.send(t, http.MethodPatch, "/api/v1/llm-connections/"+conn.GetId(), &authv1.UpdateLLMConnectionRequest{BaseUrl: proto.String("https://proxy.example/v1")}, &out)
		if r.status != http.StatusOK || out.GetConnection().GetBaseUrl() != "https://proxy.example/v1" || out.GetConnection().GetApiKeyHint() != hint || out.GetConnection().GetName() != name {
			t.Errorf("update the base URL only: want the new URL with name and key unchanged, got %s", r)
		}
		list("after update")
	})

	t.Run("delete", func(t *testing.T) {
		if r := c.do(t, http.MethodDelete, "/api/v1/llm-connections/"+conn.GetId(), nil); r.status != http.StatusOK {
			t.Fatalf("delete: %s", r)
		}
		if got := list("after delete"); got != nil {
			t.Errorf("list after delete still has %v", got)
		}
		if r := c.do(t, http.MethodDelete, "/api/v1/llm-connections/"+conn.GetId(), nil); r.status != http.StatusNotFound {
			t.Errorf("delete again: want 404, got %s", r)
		}
	})
}

// checkMasked fails when an answer shows any run of maskRun characters of
// the random part of the keys (a hint shows a few, never that many; runs
// shorter than this would match unrelated hex ids by chance).
func checkMasked(t *testing.T, what string, r response, keys ...string) {
	t.Helper()
	const maskRun = 8
	for _, k := range keys {
		random := strings.TrimPrefix(k, "sk-proj-")
		for i := 0; i+maskRun <= len(random); i++ {
			if strings.Contains(string(r.body), random[i:i+maskRun]) {
				t.Errorf("%s: the answer shows %d characters of the LLM API key from offset %d", what, maskRun, i)
				break
			}
		}
	}
}
