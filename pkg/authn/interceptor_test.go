package authn

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
)

func incoming(headers ...string) context.Context {
	return metadata.NewIncomingContext(context.Background(), metadata.Pairs(headers...))
}

const (
	getTrace     = "/agenttrace.query.v1.QueryService/GetTrace"
	ingestBatch  = "/agenttrace.ingest.v1.IngestService/IngestBatch"
	createKey    = "/agenttrace.auth.v1.AuthService/CreateAPIKey"
	listMembers  = "/agenttrace.auth.v1.OrganizationService/ListMembers"
	currentUser  = "/agenttrace.auth.v1.IdentityService/GetCurrentUser"
	retention    = "/agenttrace.auth.v1.SettingsService/ListRetentionPolicies"
	updateRole   = "/agenttrace.auth.v1.OrganizationService/UpdateMemberRole"
	listProjects = "/agenttrace.auth.v1.AuthService/ListProjects"
)

var (
	ingestOnly = Principal{Kind: KindAPIKey, KeyID: "k3", PublicKey: "pk-ingest", ProjectID: "p1", OrganizationID: "o1",
		Scopes: []authv1.APIKeyScope{authv1.APIKeyScope_API_KEY_SCOPE_INGEST}}
	worker = Principal{Kind: KindService, Service: "worker"}
)

// roleAuth resolves "Bearer jwt-carol" to carol with a role that depends on
// what the request names, and records the request.
type roleAuth struct {
	*tableAuth
	last Request
}

func (a *roleAuth) Authenticate(ctx context.Context, r Request) (Principal, error) {
	a.last = r
	if r.Authorization != "Bearer jwt-carol" {
		return a.tableAuth.Authenticate(ctx, r)
	}
	p := Principal{Kind: KindUser, UserID: carol.UserID, Email: carol.Email}
	switch {
	case r.ProjectID == "p-none":
		return Principal{}, ErrNoAccess
	case r.ProjectID != "" && r.OrganizationRole:
		p.ProjectID, p.OrganizationID, p.Role = r.ProjectID, "o1", authv1.Role_ROLE_VIEWER
	case r.ProjectID != "":
		// A project override makes carol an admin of every project.
		p.ProjectID, p.OrganizationID, p.Role = r.ProjectID, "o1", authv1.Role_ROLE_ADMIN
	case r.OrganizationID != "":
		p.OrganizationID, p.Role = r.OrganizationID, authv1.Role_ROLE_VIEWER
	case r.DefaultOrganization:
		// carol belongs to two organizations: none to default to.
		return Principal{}, &TargetError{Field: "organization_id", Reason: "required: this user belongs to 2 organizations"}
	}
	return p, nil
}

func newRoleAuth() *roleAuth {
	return &roleAuth{tableAuth: newTableAuth(map[string]Principal{
		"Bearer sk-alice": alice, "Bearer sk-ingest": ingestOnly, "Bearer svc-worker": worker,
	})}
}

type interceptorCase struct {
	name     string
	method   string
	ctx      context.Context
	req      any
	auth     Authenticator
	wantCode codes.Code
	wantMsg  string     // a part of the error message
	wantP    *Principal // principal the handler must see
}

func carolIn(project, org string, role authv1.Role) *Principal {
	return &Principal{Kind: KindUser, UserID: carol.UserID, Email: carol.Email, ProjectID: project, OrganizationID: org, Role: role}
}

func interceptorCases() []interceptorCase {
	a := newRoleAuth()
	unavailable := AuthenticatorFunc(func(context.Context, Request) (Principal, error) {
		return Principal{}, errors.New("connection refused")
	})
	canceled := AuthenticatorFunc(func(context.Context, Request) (Principal, error) {
		return Principal{}, context.Canceled
	})
	malformed := AuthenticatorFunc(func(context.Context, Request) (Principal, error) {
		return Principal{}, ErrNoCredentials
	})
	return []interceptorCase{
		{name: "key reads", method: getTrace, ctx: incoming("authorization", "Bearer sk-alice"), auth: a, wantCode: codes.OK, wantP: &alice},
		{name: "unknown credentials", method: ingestBatch, ctx: incoming("authorization", basic("pk-alice:sk-other")), auth: a, wantCode: codes.Unauthenticated},
		{name: "ingest key cannot read", method: getTrace, ctx: incoming("authorization", "Bearer sk-ingest"), auth: a,
			wantCode: codes.PermissionDenied, wantMsg: "needs TRACES_READ"},
		{name: "ingest key ingests", method: ingestBatch, ctx: incoming("authorization", "Bearer sk-ingest"), auth: a, wantCode: codes.OK, wantP: &ingestOnly},
		{name: "key cannot manage keys", method: createKey, ctx: incoming("authorization", "Bearer sk-alice"), auth: a,
			wantCode: codes.PermissionDenied, wantMsg: "needs KEYS_MANAGE, which this api key does not have"},
		{name: "no metadata", method: getTrace, ctx: context.Background(), auth: a, wantCode: codes.Unauthenticated, wantMsg: "missing authorization"},
		{name: "no authorization", method: getTrace, ctx: incoming("x-other", "1"), auth: a, wantCode: codes.Unauthenticated},
		{name: "malformed", method: getTrace, ctx: incoming("authorization", "Token abc"), auth: malformed, wantCode: codes.Unauthenticated, wantMsg: "malformed"},
		{name: "wrong key", method: getTrace, ctx: incoming("authorization", "Bearer sk-bad"), auth: a, wantCode: codes.Unauthenticated},
		{name: "auth down", method: getTrace, ctx: incoming("authorization", "Bearer sk-alice"), auth: unavailable, wantCode: codes.Unavailable},
		{name: "caller gone", method: getTrace, ctx: incoming("authorization", "Bearer sk-alice"), auth: canceled, wantCode: codes.Canceled},
		{name: "health is public", method: "/grpc.health.v1.Health/Check", ctx: context.Background(), auth: unavailable, wantCode: codes.OK},
		{name: "reflection is public", method: "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", ctx: context.Background(), auth: unavailable, wantCode: codes.OK},
		{name: "authenticate is public", method: "/agenttrace.auth.v1.AuthService/Authenticate", ctx: incoming("authorization", "Bearer sk-alice"), auth: unavailable, wantCode: codes.OK},
		{name: "unknown method is refused", method: "/agenttrace.auth.v1.AuthService/ValidateAPIKeys", ctx: incoming("authorization", "Bearer sk-alice"), auth: a, wantCode: codes.PermissionDenied},
		{name: "user names a project", method: getTrace, ctx: incoming("authorization", "Bearer jwt-carol", ProjectHeader, "p1"), auth: a,
			wantCode: codes.OK, wantP: carolIn("p1", "o1", authv1.Role_ROLE_ADMIN)},
		{name: "user names no project", method: getTrace, ctx: incoming("authorization", "Bearer jwt-carol"), auth: a,
			wantCode: codes.InvalidArgument, wantMsg: "x-agenttrace-project: this call acts on a project; name it with the X-AgentTrace-Project header (REST) or the x-agenttrace-project metadata key (gRPC)"},
		{name: "user in the project lacks the permission", method: retention, ctx: incoming("authorization", "Bearer jwt-carol", ProjectHeader, "p1"), auth: a,
			wantCode: codes.PermissionDenied, wantMsg: "needs INTERNAL, which this user does not have"},
		{name: "user in the organization lacks the role", method: updateRole, ctx: incoming("authorization", "Bearer jwt-carol", ProjectHeader, "p1"), auth: a,
			wantCode: codes.PermissionDenied, wantMsg: "permission denied: this call needs MEMBERS_MANAGE, which this user does not have"},
		{name: "no organization to default to", method: listProjects, ctx: incoming("authorization", "Bearer jwt-carol"), auth: a,
			wantCode: codes.InvalidArgument, wantMsg: "organization_id: required: this user belongs to 2 organizations"},
		{name: "user outside the project", method: getTrace, ctx: incoming("authorization", "Bearer jwt-carol", ProjectHeader, "p-none"), auth: a,
			wantCode: codes.PermissionDenied, wantMsg: ErrNoAccess.Error()},
		{name: "user without project may ask who they are", method: currentUser, ctx: incoming("authorization", "Bearer jwt-carol"), auth: a,
			wantCode: codes.OK, wantP: carolIn("", "", authv1.Role_ROLE_UNSPECIFIED)},
		{name: "key may not ask who it is", method: currentUser, ctx: incoming("authorization", "Bearer sk-alice"), auth: a, wantCode: codes.PermissionDenied},
		{name: "service calls internal", method: retention, ctx: incoming("authorization", "Bearer svc-worker"), auth: a, wantCode: codes.OK, wantP: &worker},
		{name: "service cannot read traces", method: getTrace, ctx: incoming("authorization", "Bearer svc-worker"), auth: a, wantCode: codes.PermissionDenied},
		{name: "user cannot call internal", method: retention, ctx: incoming("authorization", "Bearer jwt-carol", ProjectHeader, "p1"), auth: a,
			wantCode: codes.PermissionDenied, wantMsg: "needs INTERNAL"},
		// Organization-scoped: the organization role (viewer) decides, not
		// the project override (admin).
		{name: "org-scoped uses the org role", method: listMembers, ctx: incoming("authorization", "Bearer jwt-carol", ProjectHeader, "p1"), auth: a,
			wantCode: codes.OK, wantP: carolIn("p1", "o1", authv1.Role_ROLE_VIEWER)},
		{name: "org-scoped without anything named", method: listMembers, ctx: incoming("authorization", "Bearer jwt-carol"), auth: a,
			wantCode: codes.InvalidArgument, wantMsg: "organization_id: this call acts on an organization; name it in the request's organization_id field"},
	}
}

func TestUnaryServerInterceptor(t *testing.T) {
	for _, tt := range interceptorCases() {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			handler := func(ctx context.Context, req any) (any, error) {
				called = true
				checkPrincipal(t, ctx, tt.wantP)
				return "resp", nil
			}
			resp, err := UnaryServerInterceptor(tt.auth)(tt.ctx, tt.req, &grpc.UnaryServerInfo{FullMethod: tt.method}, handler)
			checkOutcome(t, err, called, tt)
			if tt.wantCode == codes.OK && resp != "resp" {
				t.Fatalf("response %v not passed through", resp)
			}
		})
	}
}

// While auth cannot answer, the caller is told when to try again
// (RetryInfo, which the gateway turns into Retry-After).
func TestAuthDownSaysWhenToRetry(t *testing.T) {
	down := AuthenticatorFunc(func(context.Context, Request) (Principal, error) {
		return Principal{}, errors.New("connection refused")
	})
	_, err := UnaryServerInterceptor(down)(incoming("authorization", "Bearer sk-alice"), nil,
		&grpc.UnaryServerInfo{FullMethod: "/agenttrace.query.v1.QueryService/GetTrace"},
		func(context.Context, any) (any, error) { return nil, nil })
	st := status.Convert(err)
	var after time.Duration
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			after = ri.GetRetryDelay().AsDuration()
		}
	}
	if st.Code() != codes.Unavailable || after != authRetryAfter {
		t.Errorf("auth down: %v with retry delay %v, want Unavailable after %v", st, after, authRetryAfter)
	}
}

// A request that can name its project says so too (streams have no request
// when the interceptor decides).
func TestMissingProjectNamesTheRequestField(t *testing.T) {
	_, err := UnaryServerInterceptor(newRoleAuth())(incoming("authorization", "Bearer jwt-carol"), &authv1.CreateAPIKeyRequest{},
		&grpc.UnaryServerInfo{FullMethod: createKey}, func(context.Context, any) (any, error) { return nil, nil })
	if status.Code(err) != codes.InvalidArgument || !strings.HasSuffix(status.Convert(err).Message(), "or in the request's project_id field") {
		t.Fatalf("err = %v, want InvalidArgument naming project_id", err)
	}
}

// A missing target is a bad field, detailed like every other one, so that
// the gateway's JSON error names it.
func TestMissingTargetNamesTheField(t *testing.T) {
	for method, field := range map[string]string{getTrace: ProjectHeader, listMembers: "organization_id", listProjects: "organization_id"} {
		_, err := UnaryServerInterceptor(newRoleAuth())(incoming("authorization", "Bearer jwt-carol"), nil,
			&grpc.UnaryServerInfo{FullMethod: method}, func(context.Context, any) (any, error) { return nil, nil })
		var got []string
		for _, d := range status.Convert(err).Details() {
			if br, ok := d.(*errdetails.BadRequest); ok {
				for _, v := range br.GetFieldViolations() {
					got = append(got, v.GetField())
				}
			}
		}
		if status.Code(err) != codes.InvalidArgument || len(got) != 1 || got[0] != field {
			t.Errorf("%s: %v with fields %v, want InvalidArgument naming %s", method, err, got, field)
		}
	}
}

type fakeStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (f *fakeStream) Context() context.Context { return f.ctx }

func TestStreamServerInterceptor(t *testing.T) {
	for _, tt := range interceptorCases() {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			handler := func(srv any, ss grpc.ServerStream) error {
				called = true
				checkPrincipal(t, ss.Context(), tt.wantP)
				return nil
			}
			err := StreamServerInterceptor(tt.auth)(nil, &fakeStream{ctx: tt.ctx}, &grpc.StreamServerInfo{FullMethod: tt.method}, handler)
			checkOutcome(t, err, called, tt)
		})
	}
}

func checkOutcome(t *testing.T, err error, called bool, tt interceptorCase) {
	t.Helper()
	if got := status.Code(err); got != tt.wantCode {
		t.Fatalf("code = %v (%v), want %v", got, err, tt.wantCode)
	}
	if !strings.Contains(status.Convert(err).Message(), tt.wantMsg) {
		t.Fatalf("message %q does not contain %q", status.Convert(err).Message(), tt.wantMsg)
	}
	if called != (tt.wantCode == codes.OK) {
		t.Fatalf("handler called = %v, want %v", called, tt.wantCode == codes.OK)
	}
}

func checkPrincipal(t *testing.T, ctx context.Context, want *Principal) {
	t.Helper()
	got, ok := FromContext(ctx)
	if want == nil {
		if ok {
			t.Fatalf("public method got principal %+v", got)
		}
		return
	}
	if !ok || !reflect.DeepEqual(got, *want) {
		t.Fatalf("principal = %+v, %v; want %+v", got, ok, *want)
	}
}

// The request's project_id and organization_id name the target when the
// header does not; the interceptor passes exactly that to the authenticator.
func TestInterceptorTargets(t *testing.T) {
	tests := []struct {
		name     string
		method   string
		header   string
		req      any
		want     Request
		wantCode codes.Code
	}{
		{name: "header", method: getTrace, header: "p1", req: &queryv1.GetTraceRequest{}, want: Request{ProjectID: "p1"}},
		{name: "request project", method: createKey, req: &authv1.CreateAPIKeyRequest{ProjectId: "p2"}, want: Request{ProjectID: "p2"}},
		{name: "header and request agree", method: createKey, header: "p2", req: &authv1.CreateAPIKeyRequest{ProjectId: "p2"}, want: Request{ProjectID: "p2"}},
		{name: "header and request disagree", method: createKey, header: "p1", req: &authv1.CreateAPIKeyRequest{ProjectId: "p2"}, wantCode: codes.InvalidArgument},
		{name: "request organization", method: "/agenttrace.auth.v1.AuthService/ListProjects", req: &authv1.ListProjectsRequest{OrganizationId: "o9"},
			want: Request{OrganizationID: "o9"}},
		{name: "project wins over organization", method: "/agenttrace.auth.v1.AuthService/ListProjects", header: "p1",
			req: &authv1.ListProjectsRequest{OrganizationId: "o9"}, want: Request{ProjectID: "p1"}},
		{name: "org-scoped names the organization", method: listMembers, header: "p1", req: &authv1.ListMembersRequest{OrganizationId: "o9"},
			want: Request{OrganizationID: "o9", OrganizationRole: true}},
		{name: "org-scoped through a project", method: "/agenttrace.auth.v1.OrganizationService/SetProjectRole",
			req: &authv1.SetProjectRoleRequest{ProjectId: "p3"}, want: Request{ProjectID: "p3", OrganizationRole: true}},
		{name: "nothing named", method: currentUser, req: &authv1.GetCurrentUserRequest{}, want: Request{}},
		{name: "default organization", method: listProjects, req: &authv1.ListProjectsRequest{}, want: Request{DefaultOrganization: true}},
		{name: "no default when a project is named", method: listProjects, header: "p1", req: &authv1.ListProjectsRequest{}, want: Request{ProjectID: "p1"}},
		{name: "no default for org-scoped methods", method: listMembers, req: &authv1.ListMembersRequest{}, want: Request{OrganizationRole: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Request
			a := AuthenticatorFunc(func(_ context.Context, r Request) (Principal, error) {
				got = r
				return Principal{}, ErrInvalidCredentials
			})
			md := []string{"authorization", "Bearer x"}
			if tt.header != "" {
				md = append(md, ProjectHeader, tt.header)
			}
			_, err := UnaryServerInterceptor(a)(incoming(md...), tt.req, &grpc.UnaryServerInfo{FullMethod: tt.method},
				func(context.Context, any) (any, error) { return nil, nil })
			if tt.wantCode != codes.OK {
				if status.Code(err) != tt.wantCode {
					t.Fatalf("code = %v, want %v", status.Code(err), tt.wantCode)
				}
				return
			}
			tt.want.Authorization = "Bearer x"
			if got != tt.want {
				t.Fatalf("authenticator asked %+v, want %+v", got, tt.want)
			}
		})
	}
}

// Credentials must never be echoed back to the caller in an error.
func TestInterceptorErrorsDoNotEchoSecrets(t *testing.T) {
	const secret = "sk-at-super-secret-value"
	failing := AuthenticatorFunc(func(context.Context, Request) (Principal, error) {
		return Principal{}, errors.New("lookup of " + secret + " failed")
	})
	for _, a := range []Authenticator{failing, newRoleAuth()} {
		for _, h := range []string{"Bearer " + secret, "Token " + secret} {
			_, err := UnaryServerInterceptor(a)(incoming("authorization", h), nil,
				&grpc.UnaryServerInfo{FullMethod: getTrace}, func(context.Context, any) (any, error) { return nil, nil })
			if err == nil {
				t.Fatal("want an error")
			}
			if msg := status.Convert(err).Message(); strings.Contains(msg, secret) {
				t.Fatalf("error message %q echoes the secret", msg)
			}
		}
	}
}
