// Package orgsapi serves agenttrace.auth.v1.OrganizationService over gRPC:
// it turns requests into orgs calls on behalf of the authenticated caller
// and maps domain errors to gRPC status codes in one place (status.go).
package orgsapi

import (
	"context"
	"log/slog"

	"github.com/google/uuid"

	"github.com/agenttrace/agenttrace/pkg/authn"
	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/services/auth/internal/grpcstatus"
	"github.com/agenttrace/agenttrace/services/auth/internal/orgs"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

// Server implements authv1.OrganizationServiceServer.
type Server struct {
	authv1.UnimplementedOrganizationServiceServer
	svc *orgs.Service
	log *slog.Logger
}

// New returns a Server over svc; log (slog.Default() when nil) receives the
// detail of internal errors.
func New(svc *orgs.Service, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	return &Server{svc: svc, log: log}
}

// CreateOrganization implements authv1.OrganizationServiceServer.
func (s *Server) CreateOrganization(ctx context.Context, req *authv1.CreateOrganizationRequest) (*authv1.CreateOrganizationResponse, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	o, err := s.svc.CreateOrganization(ctx, c, req.GetName())
	if err != nil {
		return nil, s.status(ctx, err)
	}
	return &authv1.CreateOrganizationResponse{Organization: organizationProto(o)}, nil
}

// ListOrganizations implements authv1.OrganizationServiceServer.
func (s *Server) ListOrganizations(ctx context.Context, _ *authv1.ListOrganizationsRequest) (*authv1.ListOrganizationsResponse, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	os, err := s.svc.ListOrganizations(ctx, c)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	out := &authv1.ListOrganizationsResponse{Organizations: make([]*authv1.Organization, 0, len(os))}
	for _, o := range os {
		out.Organizations = append(out.Organizations, organizationProto(o))
	}
	return out, nil
}

// ListMembers implements authv1.OrganizationServiceServer.
func (s *Server) ListMembers(ctx context.Context, req *authv1.ListMembersRequest) (*authv1.ListMembersResponse, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	orgID, err := tenancy.OptionalID("organization_id", req.GetOrganizationId())
	if err != nil {
		return nil, s.status(ctx, err)
	}
	ms, err := s.svc.ListMembers(ctx, c, orgID)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	out := &authv1.ListMembersResponse{Members: make([]*authv1.Member, 0, len(ms))}
	for _, m := range ms {
		out.Members = append(out.Members, memberProto(m))
	}
	return out, nil
}

// UpdateMemberRole implements authv1.OrganizationServiceServer.
func (s *Server) UpdateMemberRole(ctx context.Context, req *authv1.UpdateMemberRoleRequest) (*authv1.UpdateMemberRoleResponse, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	orgID, err := tenancy.OptionalID("organization_id", req.GetOrganizationId())
	if err != nil {
		return nil, s.status(ctx, err)
	}
	userID, err := tenancy.OptionalID("user_id", req.GetUserId())
	if err != nil {
		return nil, s.status(ctx, err)
	}
	m, err := s.svc.UpdateMemberRole(ctx, c, orgID, userID, req.GetRole())
	if err != nil {
		return nil, s.status(ctx, err)
	}
	return &authv1.UpdateMemberRoleResponse{Member: memberProto(m)}, nil
}

// RemoveMember implements authv1.OrganizationServiceServer.
func (s *Server) RemoveMember(ctx context.Context, req *authv1.RemoveMemberRequest) (*authv1.RemoveMemberResponse, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	orgID, err := tenancy.OptionalID("organization_id", req.GetOrganizationId())
	if err != nil {
		return nil, s.status(ctx, err)
	}
	userID, err := tenancy.OptionalID("user_id", req.GetUserId())
	if err != nil {
		return nil, s.status(ctx, err)
	}
	if err := s.svc.RemoveMember(ctx, c, orgID, userID); err != nil {
		return nil, s.status(ctx, err)
	}
	return &authv1.RemoveMemberResponse{}, nil
}

// SetProjectRole implements authv1.OrganizationServiceServer.
func (s *Server) SetProjectRole(ctx context.Context, req *authv1.SetProjectRoleRequest) (*authv1.SetProjectRoleResponse, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	projectID, err := tenancy.OptionalID("project_id", req.GetProjectId())
	if err != nil {
		return nil, s.status(ctx, err)
	}
	userID, err := tenancy.OptionalID("user_id", req.GetUserId())
	if err != nil {
		return nil, s.status(ctx, err)
	}
	m, err := s.svc.SetProjectRole(ctx, c, projectID, userID, req.GetRole())
	if err != nil {
		return nil, s.status(ctx, err)
	}
	return &authv1.SetProjectRoleResponse{Member: memberProto(m)}, nil
}

// CreateInvitation implements authv1.OrganizationServiceServer.
func (s *Server) CreateInvitation(ctx context.Context, req *authv1.CreateInvitationRequest) (*authv1.CreateInvitationResponse, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	orgID, err := tenancy.OptionalID("organization_id", req.GetOrganizationId())
	if err != nil {
		return nil, s.status(ctx, err)
	}
	ci, err := s.svc.CreateInvitation(ctx, c, orgID, req.GetEmail(), req.GetRole())
	if err != nil {
		return nil, s.status(ctx, err)
	}
	return &authv1.CreateInvitationResponse{Invitation: invitationProto(ci.Invitation), Token: ci.Token}, nil
}

// ListInvitations implements authv1.OrganizationServiceServer.
func (s *Server) ListInvitations(ctx context.Context, req *authv1.ListInvitationsRequest) (*authv1.ListInvitationsResponse, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	orgID, err := tenancy.OptionalID("organization_id", req.GetOrganizationId())
	if err != nil {
		return nil, s.status(ctx, err)
	}
	invs, err := s.svc.ListInvitations(ctx, c, orgID)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	out := &authv1.ListInvitationsResponse{Invitations: make([]*authv1.Invitation, 0, len(invs))}
	for _, inv := range invs {
		out.Invitations = append(out.Invitations, invitationProto(inv))
	}
	return out, nil
}

// RevokeInvitation implements authv1.OrganizationServiceServer.
func (s *Server) RevokeInvitation(ctx context.Context, req *authv1.RevokeInvitationRequest) (*authv1.RevokeInvitationResponse, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	id, err := tenancy.OptionalID("invitation_id", req.GetInvitationId())
	if err != nil {
		return nil, s.status(ctx, err)
	}
	inv, err := s.svc.RevokeInvitation(ctx, c, id)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	return &authv1.RevokeInvitationResponse{Invitation: invitationProto(inv)}, nil
}

// AcceptInvitation implements authv1.OrganizationServiceServer.
func (s *Server) AcceptInvitation(ctx context.Context, req *authv1.AcceptInvitationRequest) (*authv1.AcceptInvitationResponse, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	m, err := s.svc.AcceptInvitation(ctx, c, req.GetToken())
	if err != nil {
		return nil, s.status(ctx, err)
	}
	return &authv1.AcceptInvitationResponse{Membership: membershipProto(m)}, nil
}

// caller is the orgs view of the principal the interceptor authenticated.
// Ids a principal leaves empty stay Nil; ids it fills must parse.
func caller(ctx context.Context) (orgs.Caller, error) {
	p, ok := authn.FromContext(ctx)
	if !ok {
		return orgs.Caller{}, grpcstatus.ErrNoPrincipal
	}
	c := orgs.Caller{Kind: p.Kind, Email: p.Email}
	for _, f := range []struct {
		s   string
		dst *uuid.UUID
	}{{p.UserID, &c.UserID}, {p.OrganizationID, &c.OrganizationID}} {
		if f.s == "" {
			continue
		}
		id, err := uuid.Parse(f.s)
		if err != nil {
			return orgs.Caller{}, grpcstatus.ErrBadPrincipal
		}
		*f.dst = id
	}
	return c, nil
}
