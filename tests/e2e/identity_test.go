package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
)

// TestUsersAndRoles drives the identity and role API over REST the way a
// dashboard would: the first signup founds an organization, its owner
// creates a project and invites a viewer and an admin, and each can do
// exactly what the role allows. Then the refresh-token life cycle.
func TestUsersAndRoles(t *testing.T) {
	s := requireStack(t)

	t.Run("first signup founds the organization", func(t *testing.T) {
		testFirstSignup(t, s)
	})
	founder, org := s.founder(t)

	t.Run("signup without an invitation is refused", func(t *testing.T) {
		email, password := newCredentials("uninvited")
		r, u := s.signup(t, &authv1.SignupRequest{Email: email, Password: password, OrganizationName: "uninvited-org"})
		if u != nil || !refused(r) {
			t.Fatalf("second signup without an invitation: want a 4xx refusal, got %s", r)
		}
		r, u = s.signup(t, &authv1.SignupRequest{Email: email, Password: password, InvitationToken: guessedInvitationToken()})
		if u != nil || !refused(r) {
			t.Fatalf("signup with a guessed invitation token: want a 4xx refusal, got %s", r)
		}
		ghost := &user{Email: email, Password: password}
		checkError(t, "login of a refused signup", s.login(t, ghost), http.StatusUnauthorized, "UNAUTHENTICATED")
	})

	t.Run("login", func(t *testing.T) {
		wrong := &user{Email: founder.Email, Password: founder.Password + "x"}
		checkError(t, "login with a wrong password", s.login(t, wrong), http.StatusUnauthorized, "UNAUTHENTICATED")
		unknown := &user{Email: "nobody-" + randomHex(4) + "@e2e.agenttrace.test", Password: founder.Password}
		checkError(t, "login of an unknown email", s.login(t, unknown), http.StatusUnauthorized, "UNAUTHENTICATED")
		again := &user{ID: founder.ID, Email: founder.Email, Password: founder.Password}
		if r := s.login(t, again); r.status != http.StatusOK {
			t.Fatalf("login: %s", r)
		}
		checkTokens(t, "login", again.tokens)
		if again.tokens.GetRefreshToken() == founder.tokens.GetRefreshToken() {
			t.Error("login handed out the refresh token of the signup again")
		}
		me, err := s.me(t, again)
		if err != nil || me.GetUser().GetId() != founder.ID {
			t.Errorf("GET /api/v1/auth/me with the login's token: want user %s, got %v %v", founder.ID, me, err)
		}
	})

	project := s.createProject(t, founder, org, "roles-"+randomHex(3))
	owner := s.asUser(founder, project.GetId())
	data := newSmallTrace("roles")
	owner.mustIngest(t, data.events)
	waitTrace(t, owner, data)

	viewer := s.newMember(t, founder, org, authv1.Role_ROLE_VIEWER, "viewer")
	admin := s.newMember(t, founder, org, authv1.Role_ROLE_ADMIN, "admin")

	t.Run("memberships", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			u    *user
			role authv1.Role
		}{{"viewer", viewer, authv1.Role_ROLE_VIEWER}, {"admin", admin, authv1.Role_ROLE_ADMIN}} {
			me, err := s.me(t, tc.u)
			if err != nil {
				t.Fatal(err)
			}
			if me.GetUser().GetId() != tc.u.ID || me.GetUser().GetEmail() != tc.u.Email || !hasMembership(me, org, tc.role) {
				t.Errorf("%s: GET /api/v1/auth/me: want %s of %s, got %v", tc.name, tc.role, org, me)
			}
		}
	})

	t.Run("viewer reads but does not write", func(t *testing.T) {
		v := s.asUser(viewer, project.GetId())
		var got queryv1.GetTraceResponse
		v.mustGet(t, "/api/v1/traces/"+data.traceID, &got)
		if got.GetTrace().GetId() != data.traceID {
			t.Errorf("viewer GetTrace: got %v", got.GetTrace())
		}
		var list queryv1.ListTracesResponse
		v.mustGet(t, "/api/v1/traces", &list)
		if len(list.GetTraces()) != 1 || list.GetTraces()[0].GetId() != data.traceID {
			t.Errorf("viewer ListTraces: want exactly the project's trace, got %v", ids(list.GetTraces()))
		}
		if r := s.asUser(viewer, "").do(t, http.MethodGet, "/api/v1/traces", nil); r.status/100 == 2 || r.status >= 500 {
			t.Errorf("viewer ListTraces naming no project: want a 4xx, got %s", r)
		}
		forbidden(t, "viewer ingests", ingestResponse(t, v, newSmallTrace("viewer").events))
		forbidden(t, "viewer creates an API key", v.send(t, http.MethodPost, "/api/v1/api-keys", &authv1.CreateAPIKeyRequest{ProjectId: project.GetId()}, nil))
		email, _ := newCredentials("by-viewer")
		forbidden(t, "viewer invites", s.asUser(viewer, "").send(t, http.MethodPost, "/api/v1/organizations/"+org+"/invitations",
			&authv1.CreateInvitationRequest{OrganizationId: org, Email: email, Role: authv1.Role_ROLE_VIEWER}, nil))
		forbidden(t, "viewer deletes a trace", v.do(t, http.MethodDelete, "/api/v1/traces/"+data.traceID, nil))
		forbidden(t, "viewer changes settings", v.send(t, http.MethodPut, "/api/v1/settings", &authv1.UpdateProjectSettingsRequest{ProjectId: project.GetId(), RetentionDays: 1}, nil))
		forbidden(t, "viewer lists audit events", s.asUser(viewer, "").do(t, http.MethodGet, "/api/v1/audit-events?"+url.Values{"organization_id": {org}}.Encode(), nil))
		forbidden(t, "viewer changes their own role", s.asUser(viewer, "").send(t, http.MethodPatch, "/api/v1/organizations/"+org+"/members/"+viewer.ID,
			&authv1.UpdateMemberRoleRequest{OrganizationId: org, UserId: viewer.ID, Role: authv1.Role_ROLE_OWNER}, nil))
		// Nothing the viewer tried landed.
		owner.mustGet(t, "/api/v1/traces/"+data.traceID, &queryv1.GetTraceResponse{})
	})

	t.Run("admin ingests, creates keys and invites", func(t *testing.T) {
		a := s.asUser(admin, project.GetId())
		mine := newSmallTrace("admin")
		a.mustIngest(t, mine.events)
		key := s.createKey(t, admin, project.GetId())
		s.rest(key.basic()).mustIngest(t, newSmallTrace("admin-key").events)
		email, _ := newCredentials("by-admin")
		s.invite(t, admin, org, email, authv1.Role_ROLE_MEMBER)
		waitTrace(t, a, mine)
	})

	t.Run("refresh token rotation and reuse", func(t *testing.T) {
		testRefreshRotation(t, s, viewer, project.GetId())
	})

	t.Run("login attempts limited per account", func(t *testing.T) {
		testLoginLimit(t, s, founder, org)
	})

	t.Run("logout", func(t *testing.T) {
		u := &user{ID: admin.ID, Email: admin.Email, Password: admin.Password}
		if r := s.login(t, u); r.status != http.StatusOK {
			t.Fatalf("login: %s", r)
		}
		rt := u.tokens.GetRefreshToken()
		if r := s.asUser(u, "").send(t, http.MethodPost, "/api/v1/auth/logout", &authv1.LogoutRequest{RefreshToken: rt}, nil); r.status != http.StatusOK {
			t.Fatalf("logout: %s", r)
		}
		checkError(t, "refresh after logout", refresh(t, s, rt), http.StatusUnauthorized, "UNAUTHENTICATED")
		// Logging out one session leaves the user's others alone.
		if r := s.login(t, u); r.status != http.StatusOK {
			t.Errorf("login after logout: %s", r)
		}
	})
}

func testFirstSignup(t *testing.T, s *stack) {
	f := &s.first
	if f.err != nil {
		t.Fatalf("first signup: %v", f.err)
	}
	if f.resp.status != http.StatusOK {
		t.Fatalf("first signup: want 200, got %s", f.resp)
	}
	var out authv1.SignupResponse
	if err := strictJSON.Unmarshal(f.resp.body, &out); err != nil {
		t.Fatalf("first signup: decode: %v", err)
	}
	if out.GetUser().GetId() == "" || out.GetUser().GetEmail() != f.req.GetEmail() || out.GetUser().GetCreatedAt() == nil {
		t.Errorf("first signup: unexpected user %v", out.GetUser())
	}
	checkTokens(t, "first signup", out.GetTokens())
	if strings.Contains(string(f.resp.body), f.req.GetPassword()) {
		t.Error("first signup: the answer contains the password")
	}
	u := &user{ID: out.GetUser().GetId(), tokens: out.GetTokens()}
	me, err := s.me(t, u)
	if err != nil {
		t.Fatal(err)
	}
	var owned []*authv1.Membership
	for _, m := range me.GetMemberships() {
		if m.GetOrganizationName() == firstOrgName {
			owned = append(owned, m)
		}
	}
	if len(owned) != 1 || owned[0].GetRole() != authv1.Role_ROLE_OWNER || owned[0].GetOrganizationId() == "" {
		t.Errorf("first signup: want the user to own a new organization %q, memberships %v", firstOrgName, me.GetMemberships())
	}
	if me.GetUser().GetEmail() != f.req.GetEmail() {
		t.Errorf("GET /api/v1/auth/me: want %s, got %v", f.req.GetEmail(), me.GetUser())
	}
	checkError(t, "GET /api/v1/auth/me without a token", s.rest("").do(t, http.MethodGet, "/api/v1/auth/me", nil), http.StatusUnauthorized, "UNAUTHENTICATED")
}

// testRefreshRotation rotates a refresh token twice, then presents the
// first one again: that is a stolen-token replay, so the whole family dies.
func testRefreshRotation(t *testing.T, s *stack, u *user, project string) {
	login := &user{ID: u.ID, Email: u.Email, Password: u.Password}
	if r := s.login(t, login); r.status != http.StatusOK {
		t.Fatalf("login: %s", r)
	}
	r1 := login.tokens.GetRefreshToken()

	var rot authv1.RefreshTokenResponse
	r := refresh(t, s, r1)
	if r.status != http.StatusOK {
		t.Fatalf("refresh: %s", r)
	}
	if err := strictJSON.Unmarshal(r.body, &rot); err != nil {
		t.Fatal(err)
	}
	checkTokens(t, "refresh", rot.GetTokens())
	r2 := rot.GetTokens().GetRefreshToken()
	if r2 == r1 {
		t.Fatal("refresh returned the same refresh token: it must rotate")
	}
	rotated := &user{ID: u.ID, tokens: rot.GetTokens()}
	s.asUser(rotated, project).mustGet(t, "/api/v1/traces", &queryv1.ListTracesResponse{})

	if r := refresh(t, s, r2); r.status != http.StatusOK {
		t.Fatalf("second refresh: %s", r)
	} else if err := strictJSON.Unmarshal(r.body, &rot); err != nil {
		t.Fatal(err)
	}
	r3 := rot.GetTokens().GetRefreshToken()

	checkError(t, "reuse of a rotated refresh token", refresh(t, s, r1), http.StatusUnauthorized, "UNAUTHENTICATED")
	checkError(t, "latest refresh token of a family after a reuse", refresh(t, s, r3), http.StatusUnauthorized, "UNAUTHENTICATED")
	checkError(t, "an access token as a refresh token", refresh(t, s, rotated.tokens.GetAccessToken()), http.StatusUnauthorized, "UNAUTHENTICATED")
	checkError(t, "a refresh token as an access token", s.rest("Bearer "+r3).inProject(project).do(t, http.MethodGet, "/api/v1/traces", nil), http.StatusUnauthorized, "UNAUTHENTICATED")

	// The user's other logins are another family and still work.
	other := &user{ID: u.ID, Email: u.Email, Password: u.Password}
	if r := s.login(t, other); r.status != http.StatusOK {
		t.Fatalf("login after the family was revoked: %s", r)
	}
	if r := refresh(t, s, other.tokens.GetRefreshToken()); r.status != http.StatusOK {
		t.Errorf("refresh of another family: %s", r)
	}
}

func refresh(t *testing.T, s *stack, token string) response {
	t.Helper()
	return s.rest("").send(t, http.MethodPost, "/api/v1/auth/refresh", &authv1.RefreshTokenRequest{RefreshToken: token}, nil)
}

// checkTokens checks a token pair is complete and expires in the future,
// the access token first.
func checkTokens(t *testing.T, what string, tk *authv1.Tokens) {
	t.Helper()
	now := time.Now()
	access, refresh := tk.GetAccessTokenExpiresAt().AsTime(), tk.GetRefreshTokenExpiresAt().AsTime()
	switch {
	case strings.Count(tk.GetAccessToken(), ".") != 2:
		t.Errorf("%s: the access token is not a JWT", what)
	case tk.GetRefreshToken() == "":
		t.Errorf("%s: no refresh token", what)
	case !access.After(now) || !refresh.After(access) || access.After(now.Add(24*time.Hour)):
		t.Errorf("%s: want a short-lived access token and a longer refresh token, got expiries %s and %s", what, access, refresh)
	}
}

func hasMembership(me *authv1.GetCurrentUserResponse, org string, role authv1.Role) bool {
	return slices.ContainsFunc(me.GetMemberships(), func(m *authv1.Membership) bool {
		return m.GetOrganizationId() == org && m.GetRole() == role
	})
}

// refused is a 4xx answer other than a missing route: a request the API
// understood and declined.
func refused(r response) bool {
	return r.status/100 == 4 && r.status != http.StatusNotFound && r.status != http.StatusMethodNotAllowed
}

// forbidden checks r is the documented 403.
func forbidden(t *testing.T, what string, r response) {
	t.Helper()
	checkError(t, what, r, http.StatusForbidden, "PERMISSION_DENIED")
}

// ingestResponse posts a batch and returns the raw answer.
func ingestResponse(t *testing.T, c *restClient, events []*ingestv1.IngestEvent) response {
	t.Helper()
	r, _ := c.ingest(t, events)
	return r
}

// loginAccountAttempts is the stack's limit of login attempts per account
// (AGENTTRACE_LOGIN_ACCOUNT_ATTEMPTS, per 15 minutes).
const loginAccountAttempts = 5

// testLoginLimit guesses a user's password until the account's attempts
// are used up: then even the right password is refused with 429 and
// Retry-After, while other accounts log in as before.
func testLoginLimit(t *testing.T, s *stack, founder *user, org string) {
	target := s.newMember(t, founder, org, authv1.Role_ROLE_VIEWER, "guessed")
	wrong := &user{Email: target.Email, Password: "guess-" + randomHex(8)}
	for i := range loginAccountAttempts {
		checkError(t, fmt.Sprintf("wrong password %d of %d", i+1, loginAccountAttempts), s.login(t, wrong), http.StatusUnauthorized, "UNAUTHENTICATED")
	}
	r := s.login(t, &user{Email: target.Email, Password: target.Password})
	checkError(t, "the right password after the attempts are used up", r, http.StatusTooManyRequests, "RESOURCE_EXHAUSTED")
	if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 1 {
		t.Errorf("login refused by the limit: want Retry-After in seconds, got %q", r.header.Get("Retry-After"))
	}
	other := &user{Email: founder.Email, Password: founder.Password}
	if r := s.login(t, other); r.status != http.StatusOK {
		t.Errorf("another account logs in while one is limited: %s", r)
	}
}
