package authn

import (
	"context"
	"errors"
	"net"
	"reflect"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/pkg/grpctest"
)

// scriptedAuth is an AuthService whose Authenticate answers with err, or
// with principal when err is nil, and records what it was asked.
type scriptedAuth struct {
	authv1.UnimplementedAuthServiceServer
	err       error
	principal *authv1.Principal
	last      *authv1.AuthenticateRequest
}

func (s *scriptedAuth) Authenticate(_ context.Context, req *authv1.AuthenticateRequest) (*authv1.AuthenticateResponse, error) {
	s.last = req
	if s.err != nil {
		return nil, s.err
	}
	return &authv1.AuthenticateResponse{Principal: s.principal}, nil
}

func startAuth(t *testing.T, srv authv1.AuthServiceServer) *grpc.ClientConn {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	gs := grpc.NewServer()
	authv1.RegisterAuthServiceServer(gs, srv)
	grpctest.Serve(t, gs, lis)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

var errAny = errors.New("any failure that is not a refusal")

func TestRemoteAuthenticate(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		wantErr error
	}{
		{name: "ok"},
		{name: "unauthenticated", err: status.Error(codes.Unauthenticated, "no"), wantErr: ErrInvalidCredentials},
		{name: "permission denied", err: status.Error(codes.PermissionDenied, "no"), wantErr: ErrNoAccess},
		{name: "not found", err: status.Error(codes.NotFound, "no"), wantErr: ErrNoAccess},
		{name: "unavailable", err: status.Error(codes.Unavailable, "down"), wantErr: errAny},
		{name: "internal", err: status.Error(codes.Internal, "bug"), wantErr: errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &scriptedAuth{err: tt.err, principal: PrincipalToProto(alice)}
			r := NewRemote(startAuth(t, srv))
			p, err := r.Authenticate(context.Background(), Request{Authorization: "Bearer sk-alice", ProjectID: "p9"})
			switch {
			case tt.wantErr == nil:
				if err != nil || !reflect.DeepEqual(p, alice) {
					t.Fatalf("Authenticate = %+v, %v; want alice", p, err)
				}
			case errors.Is(tt.wantErr, errAny):
				if err == nil || refusal(err) != nil {
					t.Fatalf("Authenticate error = %v, want a failure that is not a refusal", err)
				}
			default:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Authenticate error = %v, want %v", err, tt.wantErr)
				}
			}
			want := &authv1.AuthenticateRequest{Authorization: "Bearer sk-alice", ProjectId: "p9"}
			if !proto.Equal(srv.last, want) {
				t.Fatalf("auth was asked %v, want %v", srv.last, want)
			}
		})
	}
}

// Organization targets cannot be sent over the wire; asking is an error,
// never an answer for the wrong target.
func TestRemoteRefusesOrganizationTargets(t *testing.T) {
	srv := &scriptedAuth{principal: PrincipalToProto(carol)}
	r := NewRemote(startAuth(t, srv))
	for _, req := range []Request{
		{Authorization: "Bearer jwt", OrganizationID: "o1"},
		{Authorization: "Bearer jwt", ProjectID: "p1", OrganizationRole: true},
		{Authorization: "Bearer jwt", DefaultOrganization: true},
	} {
		if _, err := r.Authenticate(context.Background(), req); !errors.Is(err, errOrganizationTarget) {
			t.Errorf("Authenticate(%+v) = %v, want errOrganizationTarget", req, err)
		}
	}
	if srv.last != nil {
		t.Fatal("auth was asked")
	}
}

func TestPrincipalProtoRoundTrip(t *testing.T) {
	for _, p := range []Principal{
		alice, carol, worker, ingestOnly,
		{Kind: KindUser, UserID: "u", Role: authv1.Role_ROLE_OWNER, OrganizationID: "o", ProjectID: "p"},
	} {
		if got := PrincipalFromProto(PrincipalToProto(p)); !reflect.DeepEqual(got, p) {
			t.Errorf("round trip of %+v gave %+v", p, got)
		}
	}
	// Scopes count only on keys, and an unknown kind is a key without any.
	odd := PrincipalFromProto(&authv1.Principal{Kind: 42, Scopes: []authv1.APIKeyScope{authv1.APIKeyScope_API_KEY_SCOPE_ADMIN}, Role: authv1.Role_ROLE_OWNER})
	if odd.Kind != KindAPIKey || odd.Scopes != nil {
		t.Errorf("unknown kind gave %+v, want a key without scopes", odd)
	}
	user := PrincipalFromProto(&authv1.Principal{Kind: authv1.PrincipalKind_PRINCIPAL_KIND_USER, Scopes: []authv1.APIKeyScope{authv1.APIKeyScope_API_KEY_SCOPE_ADMIN}})
	if user.Scopes != nil {
		t.Errorf("a user got scopes: %+v", user)
	}
}

// The interceptor behind a cache behind Remote is what every non-auth
// service runs; an auth outage must be Unavailable, never Unauthenticated.
func TestRemoteBehindInterceptor(t *testing.T) {
	srv := &scriptedAuth{err: status.Error(codes.Unavailable, "down")}
	a := NewCache(NewRemote(startAuth(t, srv)), 0)
	_, err := UnaryServerInterceptor(a)(incoming("authorization", "Bearer sk"), nil,
		&grpc.UnaryServerInfo{FullMethod: getTrace}, func(context.Context, any) (any, error) { return nil, nil })
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("code = %v, want Unavailable", status.Code(err))
	}
}

// statusOf is how auth maps refusals to codes, for the test servers here.
func statusOf(err error) error {
	switch {
	case errors.Is(err, ErrNoCredentials), errors.Is(err, ErrInvalidCredentials):
		return status.Error(codes.Unauthenticated, err.Error())
	case errors.Is(err, ErrNoAccess):
		return status.Error(codes.PermissionDenied, err.Error())
	}
	return status.Error(codes.Unavailable, err.Error())
}
