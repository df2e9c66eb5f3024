package grpcapi

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/agenttrace/agenttrace/pkg/authn"
	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
)

// WithAuthenticator makes s answer Authenticate with a, which must not be
// cached: the other services cache the answers, and evict them on the same
// notices this replica may not have received yet.
func (s *Server) WithAuthenticator(a authn.Authenticator) *Server {
	s.authenticator = a
	return s
}

// Authenticate implements authv1.AuthServiceServer. It needs no caller: the
// request carries the credentials to resolve (the permission table makes it
// public).
func (s *Server) Authenticate(ctx context.Context, req *authv1.AuthenticateRequest) (*authv1.AuthenticateResponse, error) {
	if s.authenticator == nil {
		return nil, status.Error(codes.Unimplemented, "authenticate is not served here")
	}
	p, err := s.authenticator.Authenticate(ctx, authn.Request{Authorization: req.GetAuthorization(), ProjectID: req.GetProjectId()})
	if err != nil {
		return nil, s.status(ctx, err)
	}
	return &authv1.AuthenticateResponse{Principal: authn.PrincipalToProto(p)}, nil
}
