// Package grpcapi serves agenttrace.auth.v1.AuthService over gRPC. It turns
// requests into tenancy calls on behalf of the authenticated caller and maps
// domain errors to gRPC status codes, in one place (status.go).
package grpcapi

import (
	"context"
	"log/slog"

	"github.com/google/uuid"

	"github.com/agenttrace/agenttrace/pkg/authn"
	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/services/auth/internal/grpcstatus"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

// Server implements authv1.AuthServiceServer.
type Server struct {
	authv1.UnimplementedAuthServiceServer
	svc           *tenancy.Service
	authenticator authn.Authenticator
	log           *slog.Logger
}

// New returns a Server over svc; log (slog.Default() when nil) receives the
// detail of internal errors.
func New(svc *tenancy.Service, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	return &Server{svc: svc, log: log}
}

// CreateProject implements authv1.AuthServiceServer.
func (s *Server) CreateProject(ctx context.Context, req *authv1.CreateProjectRequest) (*authv1.CreateProjectResponse, error) {
	c, err := s.projectsCaller(ctx, req.GetOrganizationId())
	if err != nil {
		return nil, s.status(ctx, err)
	}
	p, err := s.svc.CreateProject(ctx, c, req.GetName())
	if err != nil {
		return nil, s.status(ctx, err)
	}
	return &authv1.CreateProjectResponse{Project: projectProto(p)}, nil
}

// ListProjects implements authv1.AuthServiceServer.
func (s *Server) ListProjects(ctx context.Context, req *authv1.ListProjectsRequest) (*authv1.ListProjectsResponse, error) {
	c, err := s.projectsCaller(ctx, req.GetOrganizationId())
	if err != nil {
		return nil, s.status(ctx, err)
	}
	ps, err := s.svc.ListProjects(ctx, c)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	out := &authv1.ListProjectsResponse{Projects: make([]*authv1.Project, 0, len(ps))}
	for _, p := range ps {
		out.Projects = append(out.Projects, projectProto(p))
	}
	return out, nil
}

// CreateAPIKey implements authv1.AuthServiceServer.
func (s *Server) CreateAPIKey(ctx context.Context, req *authv1.CreateAPIKeyRequest) (*authv1.CreateAPIKeyResponse, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	projectID, err := tenancy.OptionalID("project_id", req.GetProjectId())
	if err != nil {
		return nil, s.status(ctx, err)
	}
	k, err := s.svc.CreateAPIKey(ctx, c, projectID, req.GetNote(), req.GetScopes())
	if err != nil {
		return nil, s.status(ctx, err)
	}
	return &authv1.CreateAPIKeyResponse{ApiKey: keyProto(k.Key), SecretKey: k.Secret}, nil
}

// ListAPIKeys implements authv1.AuthServiceServer.
func (s *Server) ListAPIKeys(ctx context.Context, req *authv1.ListAPIKeysRequest) (*authv1.ListAPIKeysResponse, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	projectID, err := tenancy.OptionalID("project_id", req.GetProjectId())
	if err != nil {
		return nil, s.status(ctx, err)
	}
	ks, err := s.svc.ListAPIKeys(ctx, c, projectID)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	out := &authv1.ListAPIKeysResponse{ApiKeys: make([]*authv1.APIKey, 0, len(ks))}
	for _, k := range ks {
		out.ApiKeys = append(out.ApiKeys, keyProto(k))
	}
	return out, nil
}

// RevokeAPIKey implements authv1.AuthServiceServer.
func (s *Server) RevokeAPIKey(ctx context.Context, req *authv1.RevokeAPIKeyRequest) (*authv1.RevokeAPIKeyResponse, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	keyID, err := tenancy.OptionalID("key_id", req.GetKeyId())
	if err != nil {
		return nil, s.status(ctx, err)
	}
	k, err := s.svc.RevokeAPIKey(ctx, c, keyID)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	return &authv1.RevokeAPIKeyResponse{ApiKey: keyProto(k)}, nil
}

// ValidateAPIKey implements authv1.AuthServiceServer. It needs no caller:
// the request carries the credentials to check (the interceptor lets it
// through unauthenticated).
func (s *Server) ValidateAPIKey(ctx context.Context, req *authv1.ValidateAPIKeyRequest) (*authv1.ValidateAPIKeyResponse, error) {
	p, err := s.svc.Validate(ctx, authn.Credentials{PublicKey: req.GetPublicKey(), SecretKey: req.GetSecretKey()})
	if err != nil {
		return nil, s.status(ctx, err)
	}
	return &authv1.ValidateAPIKeyResponse{
		KeyId:          p.KeyID,
		ProjectId:      p.ProjectID,
		OrganizationId: p.OrganizationID,
		PublicKey:      p.PublicKey,
	}, nil
}

// caller is the tenancy view of the principal the interceptor authenticated.
func caller(ctx context.Context) (tenancy.Caller, error) {
	p, ok := authn.FromContext(ctx)
	if !ok {
		return tenancy.Caller{}, grpcstatus.ErrNoPrincipal
	}
	org, err := uuid.Parse(p.OrganizationID)
	if err != nil {
		return tenancy.Caller{}, grpcstatus.ErrBadPrincipal
	}
	// A user who named an organization and no project has none; requests
	// that default to the caller's project then find nothing.
	project, err := tenancy.OptionalID("project", p.ProjectID)
	if err != nil {
		return tenancy.Caller{}, grpcstatus.ErrBadPrincipal
	}
	return tenancy.Caller{OrganizationID: org, ProjectID: project}, nil
}

// projectsCaller is the caller of the organization-level project calls,
// which users make as well as API keys; org is the request's
// organization_id.
func (s *Server) projectsCaller(ctx context.Context, org string) (tenancy.Caller, error) {
	p, ok := authn.FromContext(ctx)
	if !ok {
		return tenancy.Caller{}, grpcstatus.ErrNoPrincipal
	}
	orgID, err := tenancy.OptionalID("organization_id", org)
	if err != nil {
		return tenancy.Caller{}, err
	}
	return s.svc.ProjectsCaller(ctx, p, orgID)
}
