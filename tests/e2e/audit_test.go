package e2e

import (
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
)

// TestAuditLog makes each kind of administrative change once and checks the
// audit log records it with who did it, on what, and from where.
func TestAuditLog(t *testing.T) {
	s := requireStack(t)
	founder, org := s.founder(t)
	start := time.Now().Add(-time.Second)
	project := s.createProject(t, founder, org, "audit-"+randomHex(3)).GetId()
	owner := s.asUser(founder, project)

	key := s.createKey(t, founder, project)
	if r := owner.do(t, http.MethodDelete, "/api/v1/api-keys/"+key.KeyID, nil); r.status != http.StatusOK {
		t.Fatalf("revoke key: %s", r)
	}
	member := s.newMember(t, founder, org, authv1.Role_ROLE_MEMBER, "audited")
	if r := s.asUser(founder, "").send(t, http.MethodPatch, "/api/v1/organizations/"+org+"/members/"+member.ID,
		&authv1.UpdateMemberRoleRequest{OrganizationId: org, UserId: member.ID, Role: authv1.Role_ROLE_ADMIN}, nil); r.status != http.StatusOK {
		t.Fatalf("change role: %s", r)
	}
	if r := s.asUser(founder, "").do(t, http.MethodDelete, "/api/v1/organizations/"+org+"/members/"+member.ID, nil); r.status != http.StatusOK {
		t.Fatalf("remove member: %s", r)
	}
	if r := owner.send(t, http.MethodPut, "/api/v1/settings", &authv1.UpdateProjectSettingsRequest{ProjectId: project, RetentionDays: 30}, nil); r.status != http.StatusOK {
		t.Fatalf("change settings: %s", r)
	}
	// An action by an API key is attributed to the key.
	adminKey := s.createKey(t, founder, project, authv1.APIKeyScope_API_KEY_SCOPE_ADMIN)
	var byKey authv1.CreateAPIKeyResponse
	if r := s.rest(adminKey.basic()).send(t, http.MethodPost, "/api/v1/api-keys", &authv1.CreateAPIKeyRequest{Note: "by key", Scopes: []authv1.APIKeyScope{authv1.APIKeyScope_API_KEY_SCOPE_ADMIN}}, &byKey); r.status != http.StatusOK {
		t.Fatalf("create a key with an admin key: %s", r)
	}

	events := auditEvents(t, s.asUser(founder, ""), url.Values{"organization_id": {org}}, start)
	byFounder := func(e *authv1.AuditEvent) string {
		if e.GetActorKind() != "user" || e.GetActorId() != founder.ID || e.GetActorLabel() != founder.Email {
			return "want actor user " + founder.ID + " (" + founder.Email + ")"
		}
		return ""
	}
	want := []struct {
		what  string
		match func(*authv1.AuditEvent) bool
		actor func(*authv1.AuditEvent) string
	}{
		{"key created", func(e *authv1.AuditEvent) bool {
			return e.GetAction() == "api_key.create" && e.GetTargetId() == key.KeyID
		}, byFounder},
		{"key revoked", func(e *authv1.AuditEvent) bool {
			return e.GetAction() == "api_key.revoke" && e.GetTargetId() == key.KeyID
		}, byFounder},
		{"role changed", func(e *authv1.AuditEvent) bool {
			return e.GetAction() == "member.role_change" && e.GetTargetId() == member.ID
		}, byFounder},
		{"member removed", func(e *authv1.AuditEvent) bool {
			return e.GetAction() == "member.remove" && e.GetTargetId() == member.ID
		}, byFounder},
		{"settings changed", func(e *authv1.AuditEvent) bool {
			return e.GetAction() == "settings.update" && (e.GetProjectId() == project || e.GetTargetId() == project)
		}, byFounder},
		{"key created by a key", func(e *authv1.AuditEvent) bool {
			return e.GetAction() == "api_key.create" && e.GetTargetId() == byKey.GetApiKey().GetId()
		}, func(e *authv1.AuditEvent) string {
			if e.GetActorKind() != "api_key" || e.GetActorId() != adminKey.KeyID {
				return "want actor api_key " + adminKey.KeyID
			}
			return ""
		}},
	}
	for _, w := range want {
		var found *authv1.AuditEvent
		for _, e := range events {
			if w.match(e) {
				found = e
				break
			}
		}
		if found == nil {
			t.Errorf("audit log: no event for %s among %d events: %v", w.what, len(events), actions(events))
			continue
		}
		if problem := w.actor(found); problem != "" {
			t.Errorf("audit log, %s: %s, got %v", w.what, problem, found)
		}
		if found.GetOrganizationId() != org || found.GetId() == "" || found.GetCreatedAt() == nil {
			t.Errorf("audit log, %s: want id, organization %s and time, got %v", w.what, org, found)
		}
		if ip := net.ParseIP(found.GetClientIp()); ip == nil || !ip.IsLoopback() {
			t.Errorf("audit log, %s: want the caller's address (loopback), got client_ip %q", w.what, found.GetClientIp())
		}
	}

	t.Run("filter by action", func(t *testing.T) {
		got := auditEvents(t, s.asUser(founder, ""), url.Values{"organization_id": {org}, "action": {"api_key.revoke"}}, start)
		if len(got) == 0 {
			t.Fatal("no api_key.revoke event")
		}
		for _, e := range got {
			if e.GetAction() != "api_key.revoke" {
				t.Errorf("filter action=api_key.revoke returned %s", e.GetAction())
			}
		}
	})
}

// auditEvents lists the audit events of q newer than since (the log is
// newest first), following pages.
func auditEvents(t *testing.T, c *restClient, q url.Values, since time.Time) []*authv1.AuditEvent {
	t.Helper()
	q = cloneValues(q)
	q.Set("page_size", "50")
	var all []*authv1.AuditEvent
	for range 20 {
		var page authv1.ListAuditEventsResponse
		c.mustGet(t, "/api/v1/audit-events?"+q.Encode(), &page)
		older := false
		for _, e := range page.GetEvents() {
			if e.GetCreatedAt().AsTime().After(since) {
				all = append(all, e)
			} else {
				older = true
			}
		}
		// Newest first: a page reaching back before since is the last needed.
		if page.GetNextPageToken() == "" || older {
			return all
		}
		q.Set("page_token", page.GetNextPageToken())
	}
	t.Fatal("audit events: more than 20 pages")
	return nil
}

func actions(events []*authv1.AuditEvent) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.GetAction()+"("+e.GetTargetId()+")")
	}
	return out
}
