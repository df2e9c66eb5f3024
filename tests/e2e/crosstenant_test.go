package e2e

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
)

// tenantA is everything organization A owns that B will go after.
type tenantA struct {
	owner      *user
	org        string
	project    *authv1.Project
	member     *user
	key        apiKey
	invitation *authv1.Invitation
	connection *authv1.LLMConnection
	data       smallTrace
}

// ids are A's identifiers; none may appear in an answer given to B.
func (a tenantA) ids() map[string]string {
	m := map[string]string{
		"organization id": a.org, "project id": a.project.GetId(), "project name": a.project.GetName(),
		"owner id": a.owner.ID, "owner email": a.owner.Email, "member id": a.member.ID,
		"API key id": a.key.KeyID, "API public key": a.key.PublicKey, "invitation id": a.invitation.GetId(),
		"invitation email": a.invitation.GetEmail(), "LLM connection id": a.connection.GetId(),
		"LLM connection name": a.connection.GetName(),
	}
	for i, v := range a.data.ids() {
		m[[]string{"trace id", "observation id", "score id", "session id"}[i]] = v
	}
	return m
}

// TestCrossTenant has organization B (a user owning it and a full-scope API
// key of its project) go after every resource of organization A on every
// read and write route, with A's real ids (the best possible guess) and
// with guessed ones. Each call must be refused (400, 403 or 404) or answer
// with nothing of A; afterwards A's state must be exactly what it was.
func TestCrossTenant(t *testing.T) {
	s := requireStack(t)
	a := s.setUpTenantA(t)
	b, bOrg := s.setUpTenantB(t, a)
	bProject := s.createProject(t, b, bOrg, "tenant-b-"+randomHex(3))
	bKey := s.createKey(t, b, bProject.GetId(), authv1.APIKeyScope_API_KEY_SCOPE_INGEST,
		authv1.APIKeyScope_API_KEY_SCOPE_READ, authv1.APIKeyScope_API_KEY_SCOPE_ADMIN)
	bData := newSmallTrace("tenant-b")
	s.rest(bKey.basic()).mustIngest(t, bData.events)
	waitTrace(t, s.rest(bKey.basic()), bData)

	before := s.snapshot(t, a)
	started := time.Now()

	creds := []struct {
		name string
		c    *restClient
	}{
		{"B's user on B's project", s.asUser(b, bProject.GetId())},
		{"B's user naming A's project", s.asUser(b, a.project.GetId())},
		{"B's user naming no project", s.asUser(b, "")},
		{"B's API key", s.rest(bKey.basic())},
	}
	// Every read of every credential comes before any write. A write that
	// succeeds lands in B's own project (ingesting an update of A's trace id
	// there is B's data), and a read that came after it could then see A's
	// id in B's own records, a race with the write's visibility rather than a
	// leak. Reading first keeps the verdict deterministic.
	aIDs := a.ids()
	for _, phase := range []struct {
		name  string
		reads bool
	}{{"reads", true}, {"writes", false}} {
		for _, cred := range creds {
			t.Run(phase.name+"/"+cred.name, func(t *testing.T) {
				for _, rt := range crossTenantRoutes(a, b) {
					if (rt.method == http.MethodGet) != phase.reads {
						continue
					}
					r := cred.c.do(t, rt.method, rt.path, rt.body)
					if problem := crossTenantVerdict(r, aIDs, rt.echoes()); problem != "" {
						t.Errorf("%s %s: %s", rt.method, rt.path, problem)
					}
				}
			})
		}
	}

	// Deletion and ingestion work through the stream and the worker:
	// B deleting its own trace and seeing it gone means that whatever B
	// sent before has been applied too, so A can be compared now.
	bc := s.asUser(b, bProject.GetId())
	if r := bc.do(t, http.MethodDelete, "/api/v1/traces/"+bData.traceID, nil); r.status != http.StatusOK {
		t.Errorf("B deletes its own trace: %s", r)
	} else {
		waitGone(t, bc, bData.traceID)
	}

	t.Run("A unchanged", func(t *testing.T) {
		after := s.snapshot(t, a)
		if d := gocmp.Diff(before, after, snapshotOpts); d != "" {
			t.Errorf("organization A changed while B went after it (-before +after):\n%s", secrets.redact(d))
		}
		s.rest(a.key.basic()).mustIngest(t, newSmallTrace("a-after").events)
		for _, e := range auditEvents(t, s.asUser(a.owner, ""), url.Values{"organization_id": {a.org}}, started) {
			byB := e.GetActorId() == b.ID || e.GetActorId() == bKey.KeyID || e.GetActorLabel() == bKey.PublicKey
			if byB && !strings.Contains(e.GetAction(), "denied") {
				t.Errorf("organization A's audit log has an action by B: %v", e)
			}
		}
	})
}

// setUpTenantA creates organization A's resources: a project with data, a
// member, a key, a pending invitation, an LLM connection and a retention.
func (s *stack) setUpTenantA(t *testing.T) tenantA {
	t.Helper()
	owner, org := s.founder(t)
	a := tenantA{owner: owner, org: org, project: s.createProject(t, owner, org, "tenant-a-"+randomHex(3))}
	pa := a.project.GetId()
	a.member = s.newMember(t, owner, org, authv1.Role_ROLE_MEMBER, "a-member")
	a.key = s.createKey(t, owner, pa)
	email, _ := newCredentials("a-pending")
	a.invitation, _ = s.invite(t, owner, org, email, authv1.Role_ROLE_ADMIN)
	a.connection = s.createLLMConnection(t, owner, pa, "a-conn-"+randomHex(3), "sk-a-"+randomHex(20))
	if r := s.asUser(owner, pa).send(t, http.MethodPut, "/api/v1/settings", &authv1.UpdateProjectSettingsRequest{ProjectId: pa, RetentionDays: 400}, nil); r.status != http.StatusOK {
		t.Fatalf("A sets its retention: %s", r)
	}
	a.data = newSmallTrace("tenant-a")
	s.rest(a.key.basic()).mustIngest(t, a.data.events)
	waitTrace(t, s.rest(a.key.basic()), a.data)
	return a
}

// setUpTenantB makes a user who owns organization B and belongs to nothing
// else. Only the first user of an installation signs up without an
// invitation, so B's user joins A by invitation, creates B, and is removed
// from A by A's owner.
func (s *stack) setUpTenantB(t *testing.T, a tenantA) (*user, string) {
	t.Helper()
	b := s.newMember(t, a.owner, a.org, authv1.Role_ROLE_VIEWER, "tenant-b")
	var created authv1.CreateOrganizationResponse
	r := s.asUser(b, "").send(t, http.MethodPost, "/api/v1/organizations", &authv1.CreateOrganizationRequest{Name: "tenant-b-" + randomHex(3)}, &created)
	if r.status != http.StatusOK || created.GetOrganization().GetId() == "" {
		t.Fatalf("B creates its organization: %s", r)
	}
	if r := s.asUser(a.owner, "").do(t, http.MethodDelete, "/api/v1/organizations/"+a.org+"/members/"+b.ID, nil); r.status != http.StatusOK {
		t.Fatalf("A's owner removes B's user from A: %s", r)
	}
	me, err := s.me(t, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(me.GetMemberships()) != 1 || !hasMembership(me, created.GetOrganization().GetId(), authv1.Role_ROLE_OWNER) {
		t.Fatalf("B's user: want to own B and belong to nothing else, got %v", me.GetMemberships())
	}
	return b, created.GetOrganization().GetId()
}

// route is one call B makes.
type route struct {
	method, path string
	body         []byte
}

// echoes are the kinds of A's ids that may appear in the answer of rt
// because B itself wrote them into its own records: B deleting "A's" trace
// id in its own project is B's audited action on B's data.
func (rt route) echoes() []string {
	if strings.HasPrefix(rt.path, "/api/v1/audit-events") {
		return []string{"trace id"}
	}
	return nil
}

func jsonBody(m proto.Message) []byte {
	b, err := wireJSON.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

// crossTenantRoutes is every public route aimed at A's resources, plus
// routes that take no id and act on whatever project the caller names.
func crossTenantRoutes(a tenantA, b *user) []route {
	org, pa, tr := url.PathEscape(a.org), a.project.GetId(), a.data.traceID
	q := func(k, v string) string { return "?" + url.Values{k: {v}}.Encode() }
	guess := randomHex(16)
	update := &ingestv1.IngestBatchRequest{Batch: []*ingestv1.IngestEvent{{
		Id: "cross-" + randomHex(6), Type: ingestv1.EventType_EVENT_TYPE_TRACE_UPDATE,
		Trace: &ingestv1.TraceBody{Id: tr, Name: proto.String("written by B")},
	}}}
	email, _ := newCredentials("cross")
	return []route{
		// Query.
		{http.MethodGet, "/api/v1/traces/" + tr, nil},
		{http.MethodGet, "/api/v1/traces/" + guess, nil},
		{http.MethodGet, "/api/v1/traces/" + tr + "/observations/" + url.PathEscape(a.data.observationID), nil},
		{http.MethodGet, "/api/v1/traces", nil},
		{http.MethodGet, "/api/v1/traces" + q("session_id", a.data.sessionID), nil},
		{http.MethodGet, "/api/v1/observations" + q("trace_id", tr), nil},
		{http.MethodGet, "/api/v1/observations", nil},
		{http.MethodGet, "/api/v1/scores" + q("trace_id", tr), nil},
		{http.MethodGet, "/api/v1/scores", nil},
		{http.MethodGet, "/api/v1/sessions", nil},
		{http.MethodGet, "/api/v1/sessions/" + url.PathEscape(a.data.sessionID), nil},
		{http.MethodGet, "/api/v1/metrics" + q("query", `{"view": "observations", "dimensions": [{"field": "name"}], "metrics": [{"measure": "count", "aggregation": "count"}],
			"filters": [{"column": "traceId", "operator": "=", "value": "`+tr+`"}], "fromTimestamp": "2020-01-01T00:00:00Z", "toTimestamp": "2100-01-01T00:00:00Z"}`), nil},
		// Ingest.
		{http.MethodPost, "/api/v1/ingestion", jsonBody(update)},
		{http.MethodDelete, "/api/v1/traces/" + tr, nil},
		// Projects and keys.
		{http.MethodGet, "/api/v1/projects" + q("organization_id", a.org), nil},
		{http.MethodGet, "/api/v1/projects", nil},
		{http.MethodPost, "/api/v1/projects", jsonBody(&authv1.CreateProjectRequest{OrganizationId: a.org, Name: "planted-" + randomHex(3)})},
		{http.MethodGet, "/api/v1/api-keys" + q("project_id", pa), nil},
		{http.MethodGet, "/api/v1/api-keys", nil},
		{http.MethodPost, "/api/v1/api-keys", jsonBody(&authv1.CreateAPIKeyRequest{ProjectId: pa, Note: "planted"})},
		{http.MethodDelete, "/api/v1/api-keys/" + url.PathEscape(a.key.KeyID), nil},
		// Organizations, members and invitations.
		{http.MethodGet, "/api/v1/organizations", nil},
		{http.MethodGet, "/api/v1/organizations/" + org + "/members", nil},
		{http.MethodPatch, "/api/v1/organizations/" + org + "/members/" + a.owner.ID, jsonBody(&authv1.UpdateMemberRoleRequest{Role: authv1.Role_ROLE_VIEWER})},
		{http.MethodPatch, "/api/v1/organizations/" + org + "/members/" + b.ID, jsonBody(&authv1.UpdateMemberRoleRequest{Role: authv1.Role_ROLE_OWNER})},
		{http.MethodDelete, "/api/v1/organizations/" + org + "/members/" + a.member.ID, nil},
		{http.MethodPut, "/api/v1/projects/" + pa + "/members/" + b.ID + "/role", jsonBody(&authv1.SetProjectRoleRequest{Role: authv1.Role_ROLE_OWNER})},
		{http.MethodPut, "/api/v1/projects/" + pa + "/members/" + a.member.ID + "/role", jsonBody(&authv1.SetProjectRoleRequest{Role: authv1.Role_ROLE_VIEWER})},
		{http.MethodGet, "/api/v1/organizations/" + org + "/invitations", nil},
		{http.MethodPost, "/api/v1/organizations/" + org + "/invitations", jsonBody(&authv1.CreateInvitationRequest{Email: email, Role: authv1.Role_ROLE_OWNER})},
		{http.MethodDelete, "/api/v1/invitations/" + url.PathEscape(a.invitation.GetId()), nil},
		{http.MethodPost, "/api/v1/invitations/accept", jsonBody(&authv1.AcceptInvitationRequest{Token: guessedInvitationToken()})},
		// Settings, LLM connections, audit.
		{http.MethodGet, "/api/v1/settings" + q("project_id", pa), nil},
		{http.MethodGet, "/api/v1/settings", nil},
		{http.MethodPut, "/api/v1/settings", jsonBody(&authv1.UpdateProjectSettingsRequest{ProjectId: pa, RetentionDays: 1})},
		{http.MethodGet, "/api/v1/llm-connections" + q("project_id", pa), nil},
		{http.MethodGet, "/api/v1/llm-connections", nil},
		{http.MethodPost, "/api/v1/llm-connections", jsonBody(&authv1.CreateLLMConnectionRequest{ProjectId: pa, Provider: "openai", Name: "planted", ApiKey: "sk-planted-" + randomHex(12)})},
		{http.MethodPatch, "/api/v1/llm-connections/" + url.PathEscape(a.connection.GetId()), jsonBody(&authv1.UpdateLLMConnectionRequest{BaseUrl: proto.String("https://attacker.example")})},
		{http.MethodDelete, "/api/v1/llm-connections/" + url.PathEscape(a.connection.GetId()), nil},
		{http.MethodGet, "/api/v1/audit-events" + q("organization_id", a.org), nil},
		{http.MethodGet, "/api/v1/audit-events" + q("project_id", pa), nil},
		{http.MethodGet, "/api/v1/audit-events", nil},
	}
}

// crossTenantVerdict accepts a refusal (400, 403 or 404 in the documented
// error shape) or a success that shows nothing of A (but the echoes); it
// returns what is wrong otherwise.
func crossTenantVerdict(r response, aIDs map[string]string, echoes []string) string {
	switch {
	case r.status == http.StatusBadRequest || r.status == http.StatusForbidden || r.status == http.StatusNotFound:
		if code := r.errorCode(); code == "" {
			return fmt.Sprintf("refused without the documented error body: %s", r)
		}
		return ""
	case r.status/100 == 2:
		var leaked []string
		for kind, v := range aIDs {
			if v != "" && !slices.Contains(echoes, kind) && strings.Contains(string(r.body), v) {
				leaked = append(leaked, kind)
			}
		}
		if len(leaked) > 0 {
			slices.Sort(leaked)
			return fmt.Sprintf("answered %d with A's %s: %s", r.status, strings.Join(leaked, ", "), r)
		}
		return ""
	}
	return fmt.Sprintf("want a refusal (400/403/404) or an answer without A's data, got %s", r)
}

// snapshotOf is what organization A looks like to its owner.
type snapshotOf struct {
	Trace       *queryv1.GetTraceResponse
	Traces      []string
	Projects    []*authv1.Project
	Keys        []*authv1.APIKey
	Members     []*authv1.Member
	Invitations []*authv1.Invitation
	Settings    *authv1.ProjectSettings
	Connections []*authv1.LLMConnection
}

// snapshotOpts ignore what legitimately changes: when A's key was last used.
var snapshotOpts = gocmp.Options{
	protocmp.Transform(),
	protocmp.IgnoreFields(&authv1.APIKey{}, "last_used_at"),
}

func (s *stack) snapshot(t *testing.T, a tenantA) snapshotOf {
	t.Helper()
	pa := a.project.GetId()
	c := s.asUser(a.owner, pa)
	org := s.asUser(a.owner, "")
	var (
		snap        snapshotOf
		trace       queryv1.GetTraceResponse
		projects    authv1.ListProjectsResponse
		keys        authv1.ListAPIKeysResponse
		members     authv1.ListMembersResponse
		invitations authv1.ListInvitationsResponse
		settings    authv1.GetProjectSettingsResponse
		connections authv1.ListLLMConnectionsResponse
	)
	c.mustGet(t, "/api/v1/traces/"+a.data.traceID, &trace)
	traces, err := listTraces(t, c, url.Values{"page_size": {"100"}})
	if err != nil {
		t.Fatal(err)
	}
	org.mustGet(t, "/api/v1/projects?organization_id="+a.org, &projects)
	c.mustGet(t, "/api/v1/api-keys?project_id="+pa, &keys)
	org.mustGet(t, "/api/v1/organizations/"+a.org+"/members", &members)
	org.mustGet(t, "/api/v1/organizations/"+a.org+"/invitations", &invitations)
	c.mustGet(t, "/api/v1/settings?project_id="+pa, &settings)
	c.mustGet(t, "/api/v1/llm-connections?project_id="+pa, &connections)
	// Lists in id order: the comparison is about content, not order.
	snap.Trace = &trace
	snap.Traces = slices.Sorted(slices.Values(ids(traces)))
	snap.Projects = sortedByID(projects.GetProjects(), (*authv1.Project).GetId)
	snap.Keys = sortedByID(keys.GetApiKeys(), (*authv1.APIKey).GetId)
	snap.Members = sortedByID(members.GetMembers(), func(m *authv1.Member) string { return m.GetUser().GetId() })
	snap.Invitations = sortedByID(invitations.GetInvitations(), (*authv1.Invitation).GetId)
	snap.Settings = settings.GetSettings()
	snap.Connections = sortedByID(connections.GetConnections(), (*authv1.LLMConnection).GetId)
	return snap
}

func sortedByID[M any](ms []M, id func(M) string) []M {
	out := slices.Clone(ms)
	slices.SortFunc(out, func(a, b M) int { return strings.Compare(id(a), id(b)) })
	return out
}

// waitGone polls GetTrace until the trace is deleted (404).
func waitGone(t *testing.T, c *restClient, traceID string) {
	t.Helper()
	eventually(t, "trace "+traceID+" deleted", deleteTimeout, func() problems {
		var p problems
		if r := c.do(t, http.MethodGet, "/api/v1/traces/"+traceID, nil); r.status != http.StatusNotFound {
			p.addf("GetTrace of a deleted trace: want 404, got %s", r)
		}
		return p
	})
}

// deleteTimeout bounds how long a requested deletion may take to show.
const deleteTimeout = 30 * time.Second

// guessedInvitationToken is well-formed (inv-at- and 32 random bytes in
// base64url), so a refusal comes from the lookup, not from the syntax.
func guessedInvitationToken() string {
	return "inv-at-" + base64.RawURLEncoding.EncodeToString(randomBytes(32))
}
