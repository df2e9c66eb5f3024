package e2e

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
)

// webUISettingsRun is what settings.mjs prints.
type webUISettingsRun struct {
	SignInMs            int      `json:"signInMs"`
	OwnerSections       []string `json:"ownerSections"`
	SelectedAfterCreate string   `json:"selectedAfterCreate"`
	InvitationLinked    bool     `json:"invitationLinked"`
	OwnerRoleSelects    int      `json:"ownerRoleSelects"`
	ConnectionRow       string   `json:"connectionRow"`
	GlobalPrices        int      `json:"globalPrices"`
	PriceRow            string   `json:"priceRow"`
	AuditActions        []string `json:"auditActions"`
	AuditFiltered       []string `json:"auditFiltered"`
	ViewerPath          string   `json:"viewerPath"`
	ViewerScoreForms    int      `json:"viewerScoreForms"`
	ViewerSections      []string `json:"viewerSections"`
	ViewerRole          string   `json:"viewerRole"`
	ViewerForms         int      `json:"viewerForms"`
	ViewerRetention     string   `json:"viewerRetention"`
	ViewerRoleSelects   int      `json:"viewerRoleSelects"`
	ViewerMemberButtons []string `json:"viewerMemberButtons"`
	ViewerAuditPage     string   `json:"viewerAuditPage"`
	SecretSeen          []string `json:"secretSeen"`
	HTTPErrors          []string `json:"httpErrors"`
	Console             []string `json:"console"`
	Error               string   `json:"error"`
}

// TestWebUISettings walks the settings in Debian's Chromium as an
// organization's admin: data retention (stored), a new project (the
// switcher selects it), an invitation (its link shown once), an LLM
// connection added, edited and deleted (its key never on the page), a
// model price added (shown per million tokens, as stored) and deleted, the
// audit log (filtered by action). Signed out, the invitation link makes
// the invitee's account as a viewer, who then sees no score form, only the
// settings a viewer may read and no control that changes anything. The
// gateway's own answers are checked after: what the UI did is stored, and
// GetCurrentUser reports each user's role and permissions in the project.
func TestWebUISettings(t *testing.T) {
	s := requireStack(t)
	requireBrowser(t)
	founder, org := s.founder(t)
	label := "web-settings-" + randomHex(3)
	project := s.createProject(t, founder, org, label)
	key := s.createKey(t, founder, project.GetId())
	c := s.rest(key.basic())
	traceID, events := webUITrace(label)
	c.mustIngest(t, events)
	eventually(t, "the settings walk's trace is queryable", 30*time.Second, func() problems {
		var got queryv1.GetTraceResponse
		if err := c.get(t, "/api/v1/traces/"+traceID, &got); err != nil {
			return problems{err.Error()}
		}
		return nil
	})

	invitee, inviteePassword := newCredentials("web-viewer")
	llmKey := "sk-ui-" + randomHex(20)
	secrets.add("password", inviteePassword)
	secrets.add("LLM API key", llmKey)
	newProject := label + "-new"
	var run webUISettingsRun
	admin := s.webUIUser(t, founder, org)
	runWebUIScript(t, "settings.mjs", admin, label, &run,
		"AGENTTRACE_NEW_PROJECT="+newProject, "AGENTTRACE_INVITEE="+invitee, "AGENTTRACE_INVITEE_PASSWORD="+inviteePassword,
		"AGENTTRACE_LLM_KEY="+llmKey, "AGENTTRACE_TRACE_ID="+traceID)

	// The admin.
	if want := []string{"Project", "API keys", "Members", "LLM connections", "Model prices", "Audit log"}; !slices.Equal(run.OwnerSections, want) {
		t.Errorf("the admin's settings sections: %v, want %v", run.OwnerSections, want)
	}
	var settings authv1.GetProjectSettingsResponse
	if err := s.asUser(founder, project.GetId()).get(t, "/api/v1/settings?project_id="+project.GetId(), &settings); err != nil {
		t.Fatal(err)
	}
	if d := settings.GetSettings().GetRetentionDays(); d != 30 {
		t.Errorf("retention set in the UI: stored %d days, want 30", d)
	}
	if run.SelectedAfterCreate != newProject {
		t.Errorf("after making project %q the switcher selects %q", newProject, run.SelectedAfterCreate)
	}
	var projects authv1.ListProjectsResponse
	if err := s.asUser(founder, "").get(t, "/api/v1/projects?organization_id="+org, &projects); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(projects.GetProjects(), func(p *authv1.Project) bool { return p.GetName() == newProject }) {
		t.Errorf("project %q made in the UI is not in the organization's projects", newProject)
	}
	if !run.InvitationLinked {
		t.Error("the invitation's link is not this UI's accept page with a token")
	}
	if run.OwnerRoleSelects == 0 {
		t.Error("the admin is offered no role to change on the members page")
	}
	for _, want := range []string{"openai", "primary", "sk-"} {
		if !strings.Contains(run.ConnectionRow, want) {
			t.Errorf("the LLM connection's row %q lacks %q", run.ConnectionRow, want)
		}
	}
	if len(run.SecretSeen) > 0 {
		t.Errorf("the LLM connection's API key was on the page at %v", run.SecretSeen)
	}
	var connections authv1.ListLLMConnectionsResponse
	if err := s.asUser(founder, project.GetId()).get(t, "/api/v1/llm-connections?project_id="+project.GetId(), &connections); err != nil {
		t.Fatal(err)
	}
	if n := len(connections.GetConnections()); n != 0 {
		t.Errorf("%d LLM connections left after the UI deleted its one", n)
	}
	if run.GlobalPrices == 0 {
		t.Error("the model prices page lists no global price")
	}
	for _, want := range []string{"ui-model", "$1.5", "$6", "this project"} {
		if !strings.Contains(run.PriceRow, want) {
			t.Errorf("the model price's row %q lacks %q", run.PriceRow, want)
		}
	}
	for _, want := range []string{"settings.update", "project.create", "invitation.create", "llm_connection.create", "llm_connection.update", "llm_connection.delete", "model_price.create", "model_price.delete"} {
		if !slices.Contains(run.AuditActions, want) {
			t.Errorf("the audit log shows %v, which lacks %s", run.AuditActions, want)
		}
	}
	if len(run.AuditFiltered) == 0 || slices.ContainsFunc(run.AuditFiltered, func(a string) bool { return a != "invitation.create" }) {
		t.Errorf("the audit log filtered by invitation.create shows %v", run.AuditFiltered)
	}

	// The viewer.
	if run.ViewerPath != "/traces" {
		t.Errorf("after joining by invitation the viewer is at %q, want /traces", run.ViewerPath)
	}
	if run.ViewerScoreForms != 0 {
		t.Error("a viewer is offered the score form")
	}
	if want := []string{"Project", "Members", "LLM connections", "Model prices"}; !slices.Equal(run.ViewerSections, want) {
		t.Errorf("the viewer's settings sections: %v, want %v", run.ViewerSections, want)
	}
	if !strings.Contains(run.ViewerRole, "Viewer") || run.ViewerForms != 0 || !strings.Contains(run.ViewerRetention, "30 days") {
		t.Errorf("the viewer's project page: role %q, %d forms, retention %q; want Viewer, none, 30 days", run.ViewerRole, run.ViewerForms, run.ViewerRetention)
	}
	if run.ViewerRoleSelects != 0 || !slices.Equal(run.ViewerMemberButtons, []string{"Leave"}) {
		t.Errorf("the viewer's members page offers %d role choices and buttons %v; want none and only Leave", run.ViewerRoleSelects, run.ViewerMemberButtons)
	}
	if !strings.Contains(run.ViewerAuditPage, "does not show") {
		t.Errorf("the viewer at the audit log's address sees %q", run.ViewerAuditPage)
	}
	if len(run.HTTPErrors) > 0 {
		t.Errorf("failed HTTP calls: %v", run.HTTPErrors)
	}
	if len(run.Console) > 0 {
		t.Errorf("the browser console reported:\n%s", strings.Join(run.Console, "\n"))
	}

	// What the gateway says each of them may do in the project.
	viewer := &user{Email: invitee, Password: inviteePassword}
	if r := s.login(t, viewer); r.status != http.StatusOK {
		t.Fatalf("the invitee cannot log in: %s", r)
	}
	for _, tc := range []struct {
		who       *user
		role      authv1.Role
		has, lack []string
	}{
		{founder, authv1.Role_ROLE_OWNER, []string{"MEMBERS_MANAGE", "AUDIT_READ", "TRACES_WRITE"}, nil},
		{admin, authv1.Role_ROLE_ADMIN, []string{"MEMBERS_MANAGE", "AUDIT_READ", "KEYS_MANAGE"}, nil},
		{viewer, authv1.Role_ROLE_VIEWER, []string{"TRACES_READ", "MEMBERS_READ"}, []string{"TRACES_WRITE", "KEYS_READ", "AUDIT_READ"}},
	} {
		var me authv1.GetCurrentUserResponse
		if err := s.asUser(tc.who, project.GetId()).get(t, "/api/v1/auth/me", &me); err != nil {
			t.Fatal(err)
		}
		if me.GetProjectId() != project.GetId() || me.GetProjectRole() != tc.role {
			t.Errorf("%s: /auth/me in the project says %s %v, want %s %v", tc.who.Email, me.GetProjectId(), me.GetProjectRole(), project.GetId(), tc.role)
		}
		for _, p := range tc.has {
			if !slices.Contains(me.GetPermissions(), p) {
				t.Errorf("%s: permissions %v lack %s", tc.who.Email, me.GetPermissions(), p)
			}
		}
		for _, p := range tc.lack {
			if slices.Contains(me.GetPermissions(), p) {
				t.Errorf("%s: permissions %v hold %s", tc.who.Email, me.GetPermissions(), p)
			}
		}
	}
}
