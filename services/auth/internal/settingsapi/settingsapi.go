// Package settingsapi serves agenttrace.auth.v1.SettingsService over gRPC:
// it turns requests into settings calls on behalf of the authenticated
// caller and maps errors to statuses through grpcstatus. API keys go in,
// never out: responses carry only their hints.
package settingsapi

import (
	"context"
	"log/slog"

	"google.golang.org/protobuf/types/known/timestamppb"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/services/auth/internal/grpcstatus"
	"github.com/agenttrace/agenttrace/services/auth/internal/settings"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

// Server implements authv1.SettingsServiceServer.
type Server struct {
	authv1.UnimplementedSettingsServiceServer
	svc *settings.Service
	log *slog.Logger
}

// New returns a Server over svc; log (slog.Default() when nil) receives the
// detail of internal errors.
func New(svc *settings.Service, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	return &Server{svc: svc, log: log}
}

// GetProjectSettings implements authv1.SettingsServiceServer.
func (s *Server) GetProjectSettings(ctx context.Context, req *authv1.GetProjectSettingsRequest) (*authv1.GetProjectSettingsResponse, error) {
	projectID, err := tenancy.OptionalID("project_id", req.GetProjectId())
	if err != nil {
		return nil, grpcstatus.Of(ctx, s.log, err)
	}
	ps, err := s.svc.GetProjectSettings(ctx, projectID)
	if err != nil {
		return nil, grpcstatus.Of(ctx, s.log, err)
	}
	return &authv1.GetProjectSettingsResponse{Settings: settingsProto(ps)}, nil
}

// UpdateProjectSettings implements authv1.SettingsServiceServer.
func (s *Server) UpdateProjectSettings(ctx context.Context, req *authv1.UpdateProjectSettingsRequest) (*authv1.UpdateProjectSettingsResponse, error) {
	projectID, err := tenancy.OptionalID("project_id", req.GetProjectId())
	if err != nil {
		return nil, grpcstatus.Of(ctx, s.log, err)
	}
	ps, err := s.svc.UpdateProjectSettings(ctx, projectID, req.GetRetentionDays())
	if err != nil {
		return nil, grpcstatus.Of(ctx, s.log, err)
	}
	return &authv1.UpdateProjectSettingsResponse{Settings: settingsProto(ps)}, nil
}

// ListRetentionPolicies implements authv1.SettingsServiceServer.
func (s *Server) ListRetentionPolicies(ctx context.Context, _ *authv1.ListRetentionPoliciesRequest) (*authv1.ListRetentionPoliciesResponse, error) {
	all, err := s.svc.ListRetentionPolicies(ctx)
	if err != nil {
		return nil, grpcstatus.Of(ctx, s.log, err)
	}
	out := &authv1.ListRetentionPoliciesResponse{Policies: make([]*authv1.ProjectSettings, 0, len(all))}
	for _, ps := range all {
		out.Policies = append(out.Policies, settingsProto(ps))
	}
	return out, nil
}

// CreateLLMConnection implements authv1.SettingsServiceServer.
func (s *Server) CreateLLMConnection(ctx context.Context, req *authv1.CreateLLMConnectionRequest) (*authv1.CreateLLMConnectionResponse, error) {
	projectID, err := tenancy.OptionalID("project_id", req.GetProjectId())
	if err != nil {
		return nil, grpcstatus.Of(ctx, s.log, err)
	}
	c, err := s.svc.CreateConnection(ctx, settings.NewConnection{
		ProjectID: projectID,
		Provider:  req.GetProvider(),
		Name:      req.GetName(),
		BaseURL:   req.GetBaseUrl(),
		APIKey:    req.GetApiKey(),
	})
	if err != nil {
		return nil, grpcstatus.Of(ctx, s.log, err)
	}
	return &authv1.CreateLLMConnectionResponse{Connection: connectionProto(c)}, nil
}

// ListLLMConnections implements authv1.SettingsServiceServer.
func (s *Server) ListLLMConnections(ctx context.Context, req *authv1.ListLLMConnectionsRequest) (*authv1.ListLLMConnectionsResponse, error) {
	projectID, err := tenancy.OptionalID("project_id", req.GetProjectId())
	if err != nil {
		return nil, grpcstatus.Of(ctx, s.log, err)
	}
	cs, err := s.svc.ListConnections(ctx, projectID)
	if err != nil {
		return nil, grpcstatus.Of(ctx, s.log, err)
	}
	out := &authv1.ListLLMConnectionsResponse{Connections: make([]*authv1.LLMConnection, 0, len(cs))}
	for _, c := range cs {
		out.Connections = append(out.Connections, connectionProto(c))
	}
	return out, nil
}

// UpdateLLMConnection implements authv1.SettingsServiceServer.
func (s *Server) UpdateLLMConnection(ctx context.Context, req *authv1.UpdateLLMConnectionRequest) (*authv1.UpdateLLMConnectionResponse, error) {
	id, err := tenancy.RequiredID("id", req.GetId())
	if err != nil {
		return nil, grpcstatus.Of(ctx, s.log, err)
	}
	c, err := s.svc.UpdateConnection(ctx, id, settings.ConnectionPatch{
		Provider: req.Provider,
		Name:     req.Name,
		BaseURL:  req.BaseUrl,
		APIKey:   req.ApiKey,
	})
	if err != nil {
		return nil, grpcstatus.Of(ctx, s.log, err)
	}
	return &authv1.UpdateLLMConnectionResponse{Connection: connectionProto(c)}, nil
}

// DeleteLLMConnection implements authv1.SettingsServiceServer.
func (s *Server) DeleteLLMConnection(ctx context.Context, req *authv1.DeleteLLMConnectionRequest) (*authv1.DeleteLLMConnectionResponse, error) {
	id, err := tenancy.RequiredID("id", req.GetId())
	if err != nil {
		return nil, grpcstatus.Of(ctx, s.log, err)
	}
	if err := s.svc.DeleteConnection(ctx, id); err != nil {
		return nil, grpcstatus.Of(ctx, s.log, err)
	}
	return &authv1.DeleteLLMConnectionResponse{}, nil
}

func settingsProto(ps settings.ProjectSettings) *authv1.ProjectSettings {
	return &authv1.ProjectSettings{ProjectId: ps.ProjectID.String(), RetentionDays: int32(ps.RetentionDays)}
}

func connectionProto(c settings.Connection) *authv1.LLMConnection {
	return &authv1.LLMConnection{
		Id:         c.ID.String(),
		ProjectId:  c.ProjectID.String(),
		Provider:   c.Provider,
		Name:       c.Name,
		BaseUrl:    c.BaseURL,
		ApiKeyHint: c.APIKeyHint,
		CreatedAt:  timestamppb.New(c.CreatedAt),
		UpdatedAt:  timestamppb.New(c.UpdatedAt),
	}
}
