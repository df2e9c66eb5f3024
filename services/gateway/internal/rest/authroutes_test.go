package rest

import (
	"net/http"
	"strings"
	"testing"
)

// TestAuthProcessRoutes checks that the routes of every service the auth
// process serves reach it. The fake backend implements none of them, so a
// registered route answers 501 (Unimplemented from the backend) where an
// unregistered one would answer 404.
func TestAuthProcessRoutes(t *testing.T) {
	h := newHarness(t)
	routes := []struct{ method, path, body string }{
		{http.MethodPost, "/api/v1/auth/signup", `{"email":"a@example.com"}`},
		{http.MethodPost, "/api/v1/auth/login", `{"email":"a@example.com"}`},
		{http.MethodPost, "/api/v1/auth/refresh", `{}`},
		{http.MethodPost, "/api/v1/auth/logout", `{}`},
		{http.MethodGet, "/api/v1/auth/me", ""},
		{http.MethodPost, "/api/v1/organizations", `{"name":"x"}`},
		{http.MethodGet, "/api/v1/organizations", ""},
		{http.MethodGet, "/api/v1/organizations/o1/members", ""},
		{http.MethodPatch, "/api/v1/organizations/o1/members/u1", `{"role":"ROLE_VIEWER"}`},
		{http.MethodDelete, "/api/v1/organizations/o1/members/u1", ""},
		{http.MethodPut, "/api/v1/projects/p1/members/u1/role", `{"role":"ROLE_VIEWER"}`},
		{http.MethodPost, "/api/v1/organizations/o1/invitations", `{"email":"b@example.com"}`},
		{http.MethodGet, "/api/v1/organizations/o1/invitations", ""},
		{http.MethodDelete, "/api/v1/invitations/i1", ""},
		{http.MethodPost, "/api/v1/invitations/accept", `{"token":"t"}`},
		{http.MethodGet, "/api/v1/settings", ""},
		{http.MethodPut, "/api/v1/settings", `{"retention_days":30}`},
		{http.MethodPost, "/api/v1/llm-connections", `{"provider":"openai"}`},
		{http.MethodGet, "/api/v1/llm-connections", ""},
		{http.MethodPatch, "/api/v1/llm-connections/c1", `{"name":"n"}`},
		{http.MethodDelete, "/api/v1/llm-connections/c1", ""},
		{http.MethodGet, "/api/v1/audit-events", ""},
		{http.MethodGet, "/api/v1/model-prices", ""},
		{http.MethodPost, "/api/v1/model-prices", `{"model_name":"m"}`},
		{http.MethodPatch, "/api/v1/model-prices/p1", `{"model_name":"m"}`},
		{http.MethodDelete, "/api/v1/model-prices/p1", ""},
	}
	for _, r := range routes {
		t.Run(r.method+" "+r.path, func(t *testing.T) {
			resp := h.do(t, r.method, r.path, strings.NewReader(r.body), map[string]string{"Content-Type": "application/json"})
			if resp.status != http.StatusNotImplemented {
				t.Fatalf("status %d (body %s), want 501 from the backend", resp.status, resp.body)
			}
			if e := apiError(t, resp); e.Code != "UNIMPLEMENTED" {
				t.Errorf("code %q", e.Code)
			}
		})
	}
}
