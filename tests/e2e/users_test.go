package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
)

// user is a signed-up user with the tokens of their latest login.
type user struct {
	ID       string
	Email    string
	Password string
	tokens   *authv1.Tokens
}

// bearer is the Authorization header value of the user's access token.
func (u *user) bearer() string { return "Bearer " + u.tokens.GetAccessToken() }

// asUser is a REST client acting as u on project (none when "").
func (s *stack) asUser(u *user, project string) *restClient {
	return s.rest(u.bearer()).inProject(project)
}

// withUser authenticates outgoing gRPC calls as u acting on project.
func withUser(ctx context.Context, u *user, project string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", u.bearer(), strings.ToLower(projectHeader), project)
}

// newCredentials is a unique email and a strong random password.
func newCredentials(label string) (email, password string) {
	return fmt.Sprintf("%s-%s@e2e.agenttrace.test", label, randomHex(4)), "pw-" + randomHex(16)
}

// firstSignup is the installation's first signup, made by TestMain before
// any test runs: only the first user of an installation may sign up without
// an invitation, and it creates (and owns) the first organization.
type firstSignup struct {
	req  *authv1.SignupRequest
	resp response
	err  error

	once    sync.Once
	founder *user
	orgID   string
	failure string
}

const firstOrgName = "e2e-first-org"

// signupFirst makes the first signup; the tests check its answer.
func (s *stack) signupFirst(ctx context.Context) {
	email, password := newCredentials("founder")
	s.first.req = &authv1.SignupRequest{Email: email, Password: password, Name: "Founder", OrganizationName: firstOrgName}
	body, err := wireJSON.Marshal(s.first.req)
	if err != nil {
		s.first.err = err
		return
	}
	s.first.resp, s.first.err = s.rest("").request(ctx, http.MethodPost, "/api/v1/auth/signup", body)
}

// founder is the first user (OWNER of the first organization) and that
// organization's id; it fails the test when the first signup did not work.
func (s *stack) founder(t *testing.T) (*user, string) {
	t.Helper()
	f := &s.first
	f.once.Do(func() {
		if f.err != nil {
			f.failure = fmt.Sprintf("first signup failed: %v", f.err)
			return
		}
		if f.resp.status != http.StatusOK {
			f.failure = fmt.Sprintf("first signup: want 200, got %s", f.resp)
			return
		}
		var out authv1.SignupResponse
		if err := strictJSON.Unmarshal(f.resp.body, &out); err != nil {
			f.failure = fmt.Sprintf("first signup: decode: %v", err)
			return
		}
		u := &user{ID: out.GetUser().GetId(), Email: f.req.GetEmail(), Password: f.req.GetPassword(), tokens: out.GetTokens()}
		me, err := s.me(t, u)
		if err != nil {
			f.failure = err.Error()
			return
		}
		for _, m := range me.GetMemberships() {
			if m.GetOrganizationName() == firstOrgName && m.GetRole() == authv1.Role_ROLE_OWNER {
				f.founder, f.orgID = u, m.GetOrganizationId()
			}
		}
		if f.founder == nil {
			f.failure = fmt.Sprintf("first signup: the user does not own organization %q: %v", firstOrgName, me.GetMemberships())
		}
	})
	if f.founder == nil {
		t.Fatal(f.failure)
	}
	return f.founder, f.orgID
}

// me is GET /api/v1/auth/me as u.
func (s *stack) me(t *testing.T, u *user) (*authv1.GetCurrentUserResponse, error) {
	t.Helper()
	var out authv1.GetCurrentUserResponse
	if err := s.asUser(u, "").get(t, "/api/v1/auth/me", &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// signup signs up with req and returns the answer (decoded when 200).
func (s *stack) signup(t *testing.T, req *authv1.SignupRequest) (response, *user) {
	t.Helper()
	var out authv1.SignupResponse
	r := s.rest("").send(t, http.MethodPost, "/api/v1/auth/signup", req, &out)
	if r.status != http.StatusOK {
		return r, nil
	}
	return r, &user{ID: out.GetUser().GetId(), Email: req.GetEmail(), Password: req.GetPassword(), tokens: out.GetTokens()}
}

// login logs u in again, replacing u's tokens; it returns the answer.
func (s *stack) login(t *testing.T, u *user) response {
	t.Helper()
	var out authv1.LoginResponse
	r := s.rest("").send(t, http.MethodPost, "/api/v1/auth/login", &authv1.LoginRequest{Email: u.Email, Password: u.Password}, &out)
	if r.status == http.StatusOK {
		u.tokens = out.GetTokens()
	}
	return r
}

// invite makes inviter invite a new address to org with role and returns
// the invitation and its token.
func (s *stack) invite(t *testing.T, inviter *user, org, email string, role authv1.Role) (*authv1.Invitation, string) {
	t.Helper()
	var out authv1.CreateInvitationResponse
	r := s.asUser(inviter, "").send(t, http.MethodPost, "/api/v1/organizations/"+url.PathEscape(org)+"/invitations",
		&authv1.CreateInvitationRequest{OrganizationId: org, Email: email, Role: role}, &out)
	if r.status != http.StatusOK || out.GetToken() == "" || out.GetInvitation().GetId() == "" {
		t.Fatalf("invite %s as %s to %s: want 200 with the invitation and its token, got %s", email, role, org, r)
	}
	return out.GetInvitation(), out.GetToken()
}

// newMember invites a new user to org with role and signs them up.
func (s *stack) newMember(t *testing.T, inviter *user, org string, role authv1.Role, label string) *user {
	t.Helper()
	email, password := newCredentials(label)
	_, token := s.invite(t, inviter, org, email, role)
	r, u := s.signup(t, &authv1.SignupRequest{Email: email, Password: password, Name: label, InvitationToken: token})
	if u == nil {
		t.Fatalf("sign up %s with an invitation: %s", label, r)
	}
	return u
}

// createProject creates a project in org as u.
func (s *stack) createProject(t *testing.T, u *user, org, name string) *authv1.Project {
	t.Helper()
	var out authv1.CreateProjectResponse
	r := s.asUser(u, "").send(t, http.MethodPost, "/api/v1/projects",
		&authv1.CreateProjectRequest{Name: name, OrganizationId: org}, &out)
	p := out.GetProject()
	if r.status != http.StatusOK || p.GetId() == "" || p.GetOrganizationId() != org || p.GetName() != name {
		t.Fatalf("create project %q in %s: want 200 with the project, got %s", name, org, r)
	}
	return p
}

// createKey creates an API key of project as u with the given scopes (the
// default ones when none).
func (s *stack) createKey(t *testing.T, u *user, project string, scopes ...authv1.APIKeyScope) apiKey {
	t.Helper()
	var out authv1.CreateAPIKeyResponse
	r := s.asUser(u, project).send(t, http.MethodPost, "/api/v1/api-keys",
		&authv1.CreateAPIKeyRequest{ProjectId: project, Note: "e2e", Scopes: scopes}, &out)
	k := out.GetApiKey()
	if r.status != http.StatusOK || k.GetProjectId() != project || !strings.HasPrefix(out.GetSecretKey(), "sk-at-") {
		t.Fatalf("create API key of %s with scopes %v: want 200 with the key, got %s", project, scopes, r)
	}
	return apiKey{ProjectID: project, KeyID: k.GetId(), PublicKey: k.GetPublicKey(), SecretKey: out.GetSecretKey()}
}

// smallTrace is one trace with an observation and a score, with ids unique
// to the run, so that tests can tell exactly whose data they see.
type smallTrace struct {
	traceID, observationID, scoreID, sessionID string
	events                                     []*ingestv1.IngestEvent
}

func newSmallTrace(label string) smallTrace {
	now := time.Now().UTC().Add(-time.Minute)
	st := smallTrace{
		traceID:       randomHex(16),
		observationID: randomHex(8),
		scoreID:       randomHex(16),
		sessionID:     "session-" + label + "-" + randomHex(4),
	}
	ts := timestamppb.New(now)
	eid := func(kind string) string { return label + "-" + kind + "-" + randomHex(6) }
	st.events = []*ingestv1.IngestEvent{
		{Id: eid("trace"), Timestamp: ts, Type: ingestv1.EventType_EVENT_TYPE_TRACE_CREATE, Trace: &ingestv1.TraceBody{
			Id: st.traceID, Name: proto.String(label), Timestamp: ts, SessionId: proto.String(st.sessionID),
			UserId: proto.String("end-user-" + label), Tags: []string{"e2e", label},
		}},
		{Id: eid("obs"), Timestamp: ts, Type: ingestv1.EventType_EVENT_TYPE_OBSERVATION_CREATE, Observation: &ingestv1.ObservationBody{
			Id: st.observationID, TraceId: st.traceID, Type: commonv1.ObservationType_OBSERVATION_TYPE_GENERATION,
			Name: proto.String(label + "-llm"), StartTime: ts, EndTime: timestamppb.New(now.Add(time.Millisecond)),
			Model: proto.String("e2e-model"), Level: commonv1.ObservationLevel_OBSERVATION_LEVEL_DEFAULT,
		}},
		{Id: eid("score"), Timestamp: ts, Type: ingestv1.EventType_EVENT_TYPE_SCORE_CREATE, Score: &ingestv1.ScoreBody{
			Id: st.scoreID, TraceId: st.traceID, ObservationId: proto.String(st.observationID), Name: proto.String("quality"),
			DataType: commonv1.ScoreDataType_SCORE_DATA_TYPE_NUMERIC, Value: proto.Float64(0.5),
			Source: commonv1.ScoreSource_SCORE_SOURCE_API, Timestamp: ts,
		}},
	}
	return st
}

// ids are the trace's object ids, to look for in answers.
func (st smallTrace) ids() []string {
	return []string{st.traceID, st.observationID, st.scoreID, st.sessionID}
}

// waitTrace polls GetTrace as c until the trace is there with its
// observation and score.
func waitTrace(t *testing.T, c *restClient, st smallTrace) {
	t.Helper()
	eventually(t, "trace "+st.traceID+" visible", visibleTimeout, func() problems {
		var p problems
		var got queryv1.GetTraceResponse
		if err := c.get(t, "/api/v1/traces/"+st.traceID, &got); err != nil {
			p.check(err)
			return p
		}
		if len(got.GetObservations()) != 1 || len(got.GetScores()) != 1 {
			p.addf("trace %s: want 1 observation and 1 score, got %d and %d", st.traceID, len(got.GetObservations()), len(got.GetScores()))
		}
		return p
	})
}
