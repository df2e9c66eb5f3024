// Package identityapi serves agenttrace.auth.v1.IdentityService over gRPC:
// it turns requests into identity calls and maps the domain's errors to
// status codes in one place (status.go). Signup, Login and RefreshToken run
// without credentials (the authn interceptor lists them as public); Logout
// and GetCurrentUser run for an authenticated caller.
package identityapi

import (
	"context"
	"log/slog"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/agenttrace/agenttrace/pkg/authn"
	"github.com/agenttrace/agenttrace/pkg/authz"
	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/services/auth/internal/audit"
	"github.com/agenttrace/agenttrace/services/auth/internal/grpcstatus"
	"github.com/agenttrace/agenttrace/services/auth/internal/identity"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

// Server implements authv1.IdentityServiceServer.
type Server struct {
	authv1.UnimplementedIdentityServiceServer
	svc *identity.Service
	log *slog.Logger
}

// New returns a Server over svc; log (slog.Default() when nil) receives the
// detail of internal errors.
func New(svc *identity.Service, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	return &Server{svc: svc, log: log}
}

// client is where the call came from: the same reading of x-forwarded-for
// and the peer address as the audit log's, so the two agree.
func client(ctx context.Context) identity.Client {
	o := audit.OriginFromContext(ctx)
	return identity.Client{Address: o.ClientIP, UserAgent: o.UserAgent}
}

// Signup implements authv1.IdentityServiceServer.
func (s *Server) Signup(ctx context.Context, req *authv1.SignupRequest) (*authv1.SignupResponse, error) {
	sess, err := s.svc.Signup(ctx, identity.SignupInput{
		Email:            req.GetEmail(),
		Password:         req.GetPassword(),
		Name:             req.GetName(),
		OrganizationName: req.GetOrganizationName(),
		InvitationToken:  req.GetInvitationToken(),
	}, client(ctx))
	if err != nil {
		return nil, s.status(ctx, err)
	}
	return &authv1.SignupResponse{User: userProto(sess.User), Tokens: tokensProto(sess.Tokens),
		Organization: organizationProto(sess.Organization)}, nil
}

// Login implements authv1.IdentityServiceServer.
func (s *Server) Login(ctx context.Context, req *authv1.LoginRequest) (*authv1.LoginResponse, error) {
	sess, err := s.svc.Login(ctx, req.GetEmail(), req.GetPassword(), client(ctx))
	if err != nil {
		return nil, s.status(ctx, err)
	}
	return &authv1.LoginResponse{User: userProto(sess.User), Tokens: tokensProto(sess.Tokens)}, nil
}

// RefreshToken implements authv1.IdentityServiceServer.
func (s *Server) RefreshToken(ctx context.Context, req *authv1.RefreshTokenRequest) (*authv1.RefreshTokenResponse, error) {
	t, err := s.svc.Refresh(ctx, req.GetRefreshToken(), client(ctx))
	if err != nil {
		return nil, s.status(ctx, err)
	}
	return &authv1.RefreshTokenResponse{Tokens: tokensProto(t)}, nil
}

// Logout implements authv1.IdentityServiceServer.
func (s *Server) Logout(ctx context.Context, req *authv1.LogoutRequest) (*authv1.LogoutResponse, error) {
	if err := s.svc.Logout(ctx, req.GetRefreshToken()); err != nil {
		return nil, s.status(ctx, err)
	}
	return &authv1.LogoutResponse{}, nil
}

// GetCurrentUser implements authv1.IdentityServiceServer.
func (s *Server) GetCurrentUser(ctx context.Context, _ *authv1.GetCurrentUserRequest) (*authv1.GetCurrentUserResponse, error) {
	p, ok := authn.FromContext(ctx)
	if !ok {
		return nil, s.status(ctx, grpcstatus.ErrNoPrincipal)
	}
	if p.Kind != authn.KindUser {
		return nil, s.status(ctx, identity.ErrNotAUser)
	}
	id, err := uuid.Parse(p.UserID)
	if err != nil {
		return nil, s.status(ctx, grpcstatus.ErrBadPrincipal)
	}
	u, ms, err := s.svc.CurrentUser(ctx, id)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	out := &authv1.GetCurrentUserResponse{User: userProto(u), Memberships: make([]*authv1.Membership, 0, len(ms))}
	for _, m := range ms {
		out.Memberships = append(out.Memberships, &authv1.Membership{
			OrganizationId: m.OrganizationID.String(), OrganizationName: m.OrganizationName, Role: m.Role,
		})
	}
	if p.ProjectID != "" {
		// The authenticator resolved the user's role in the project the call
		// names (refusing a project they have no part in).
		out.ProjectId, out.ProjectRole = p.ProjectID, p.Role
		for _, perm := range authz.RolePermissions(p.Role) {
			out.Permissions = append(out.Permissions, string(perm))
		}
	}
	return out, nil
}

func userProto(u identity.User) *authv1.User {
	return &authv1.User{Id: u.ID.String(), Email: u.Email, Name: u.Name, CreatedAt: timestamppb.New(u.CreatedAt)}
}

func organizationProto(o tenancy.Organization) *authv1.Organization {
	return &authv1.Organization{Id: o.ID.String(), Name: o.Name, CreatedAt: timestamppb.New(o.CreatedAt)}
}

func tokensProto(t identity.Tokens) *authv1.Tokens {
	return &authv1.Tokens{
		AccessToken:           t.Access,
		AccessTokenExpiresAt:  timestamppb.New(t.AccessExpiresAt),
		RefreshToken:          t.Refresh,
		RefreshTokenExpiresAt: timestamppb.New(t.RefreshExpiresAt),
	}
}
