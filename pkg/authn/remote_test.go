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

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
)

// scriptedAuth is an AuthService whose ValidateAPIKey answers with err, or
// with alice when err is nil, and records what it was asked.
type scriptedAuth struct {
	authv1.UnimplementedAuthServiceServer
	err  error
	last *authv1.ValidateAPIKeyRequest
}

func (s *scriptedAuth) ValidateAPIKey(_ context.Context, req *authv1.ValidateAPIKeyRequest) (*authv1.ValidateAPIKeyResponse, error) {
	s.last = req
	if s.err != nil {
		return nil, s.err
	}
	return &authv1.ValidateAPIKeyResponse{
		KeyId: alice.KeyID, PublicKey: alice.PublicKey, ProjectId: alice.ProjectID, OrganizationId: alice.OrganizationID,
	}, nil
}

func startAuth(t *testing.T, srv authv1.AuthServiceServer) *grpc.ClientConn {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	gs := grpc.NewServer()
	authv1.RegisterAuthServiceServer(gs, srv)
	go gs.Serve(lis)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		gs.Stop()
	})
	return conn
}

func TestRemote(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		wantErr error // nil: success; ErrInvalidKey; or errAny
	}{
		{name: "valid", err: nil},
		{name: "unauthenticated", err: status.Error(codes.Unauthenticated, "no"), wantErr: ErrInvalidKey},
		{name: "not found", err: status.Error(codes.NotFound, "no"), wantErr: ErrInvalidKey},
		{name: "permission denied", err: status.Error(codes.PermissionDenied, "no"), wantErr: ErrInvalidKey},
		{name: "unavailable", err: status.Error(codes.Unavailable, "down"), wantErr: errAny},
		{name: "internal", err: status.Error(codes.Internal, "bug"), wantErr: errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &scriptedAuth{err: tt.err}
			r := NewRemote(startAuth(t, srv))
			p, err := r.Validate(context.Background(), Credentials{PublicKey: "pk-alice", SecretKey: "sk-alice"})
			switch {
			case tt.wantErr == nil:
				if err != nil || !reflect.DeepEqual(p, alice) {
					t.Fatalf("Validate = %+v, %v; want alice", p, err)
				}
			case tt.wantErr == ErrInvalidKey:
				if !errors.Is(err, ErrInvalidKey) {
					t.Fatalf("Validate error = %v, want ErrInvalidKey", err)
				}
			default:
				if err == nil || errors.Is(err, ErrInvalidKey) {
					t.Fatalf("Validate error = %v, want a non-key error (retryable)", err)
				}
			}
			if srv.last.GetPublicKey() != "pk-alice" || srv.last.GetSecretKey() != "sk-alice" {
				t.Fatalf("auth was asked %+v", srv.last)
			}
		})
	}
}

var errAny = errors.New("any error but ErrInvalidKey")

// The interceptor behind a cache behind Remote is what every non-auth
// service runs; an auth outage must be Unavailable, never Unauthenticated.
func TestRemoteBehindInterceptor(t *testing.T) {
	srv := &scriptedAuth{err: status.Error(codes.Unavailable, "down")}
	v := NewCache(NewRemote(startAuth(t, srv)), 0)
	_, err := UnaryServerInterceptor(v)(incoming("authorization", "Bearer sk"), nil,
		&grpc.UnaryServerInfo{FullMethod: "/x.Y/Z"}, func(context.Context, any) (any, error) { return nil, nil })
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("code = %v, want Unavailable", status.Code(err))
	}
}
