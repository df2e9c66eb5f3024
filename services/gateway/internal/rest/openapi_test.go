package rest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/agenttrace/agenttrace/services/gateway/internal/langfuse"
	"github.com/agenttrace/agenttrace/services/gateway/internal/otlphttp"
)

// TestOpenAPIDocument checks what make generate adds to the generated
// document: the top level from proto/openapi.yaml, and the routes that do
// not come from the protos from proto/openapi-routes.json.
func TestOpenAPIDocument(t *testing.T) {
	h := newHarness(t)
	r := h.do(t, "GET", "/api/v1/openapi.json", nil, nil)
	if r.status != http.StatusOK {
		t.Fatalf("status %d", r.status)
	}
	var doc struct {
		Info struct {
			Title, Version, Description string
		}
		SecurityDefinitions map[string]struct {
			Type, In, Name string
		}
		Security    []map[string][]string
		Paths       map[string]map[string]json.RawMessage
		Definitions map[string]json.RawMessage
	}
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Info.Title != "AgentTrace API" || doc.Info.Version == "" || doc.Info.Version == "version not set" || doc.Info.Description == "" {
		t.Errorf("info: %+v", doc.Info)
	}
	wantSchemes := map[string]string{"APIKeyBasic": "basic", "APIKeyBearer": "apiKey", "UserJWT": "apiKey"}
	for name, typ := range wantSchemes {
		s, ok := doc.SecurityDefinitions[name]
		if !ok || s.Type != typ {
			t.Errorf("security definition %s: %+v, want type %s", name, s, typ)
		}
		if typ == "apiKey" && (s.In != "header" || s.Name != "Authorization") {
			t.Errorf("security definition %s is not the Authorization header: %+v", name, s)
		}
	}
	var required []string
	for _, req := range doc.Security {
		for name := range req {
			required = append(required, name)
		}
	}
	if len(required) != len(wantSchemes) {
		t.Errorf("default security %v, want any of %v", doc.Security, wantSchemes)
	}

	raw := map[string]string{
		langfuse.IngestionPath:              "post",
		langfuse.OTelTracesPath:             "post",
		langfuse.ProjectsPath:               "get",
		langfuse.HealthPath:                 "get",
		langfuse.MediaPath:                  "post",
		langfuse.MediaPrefix + "{media_id}": "get",
		"/health":                           "get",
		"/api/v1/openapi.json":              "get",
	}
	for _, p := range otlphttp.Paths {
		raw[p] = "post"
	}
	for path, method := range raw {
		if _, ok := doc.Paths[path][method]; !ok {
			t.Errorf("openapi lacks %s %s", method, path)
		}
	}

	// Every reference resolves, the hand-written ones included.
	for _, ref := range strings.Split(string(r.body), `"$ref": "#/definitions/`)[1:] {
		name, _, _ := strings.Cut(ref, `"`)
		if _, ok := doc.Definitions[name]; !ok {
			t.Errorf("$ref to a missing definition %q", name)
		}
	}
	// GET /api/v1/metrics takes the query as one JSON parameter (the
	// parser in queryparams.go), not the generated query.* fields.
	var metrics struct {
		Parameters []struct {
			Name, In string
			Required bool
		}
	}
	if err := json.Unmarshal(doc.Paths["/api/v1/metrics"]["get"], &metrics); err != nil {
		t.Fatal(err)
	}
	if p := metrics.Parameters; len(p) != 1 || p[0].Name != metricsQueryParam || p[0].In != "query" || !p[0].Required {
		t.Errorf("GET /api/v1/metrics parameters %+v, want the one required %q", p, metricsQueryParam)
	}
	// 64-bit integers are described as the gateway writes them.
	if !strings.Contains(string(doc.Definitions["v1Usage"]), `"type": "integer"`) {
		t.Errorf("v1Usage: %s", doc.Definitions["v1Usage"])
	}
}
