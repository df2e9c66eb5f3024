package authn

import (
	"context"
	"errors"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
)

// errOrganizationTarget: AuthenticateRequest names projects only. Methods
// that act on an organization are served by auth itself, which resolves
// locally; a remote service asked for one is misconfigured.
var errOrganizationTarget = errors.New("authenticate: organization targets are resolved inside the auth service only")

// Remote resolves callers by asking the auth service.
type Remote struct {
	client authv1.AuthServiceClient
}

// NewRemote resolves through conn (a connection to the auth service).
func NewRemote(conn grpc.ClientConnInterface) *Remote {
	return &Remote{client: authv1.NewAuthServiceClient(conn)}
}

// Authenticate asks auth. Unauthenticated means ErrInvalidCredentials;
// PermissionDenied and NotFound mean ErrNoAccess.
func (r *Remote) Authenticate(ctx context.Context, req Request) (Principal, error) {
	if req.OrganizationID != "" || req.OrganizationRole || req.DefaultOrganization {
		return Principal{}, errOrganizationTarget
	}
	resp, err := r.client.Authenticate(ctx, &authv1.AuthenticateRequest{
		Authorization: req.Authorization,
		ProjectId:     req.ProjectID,
	})
	if err != nil {
		switch status.Code(err) {
		case codes.Unauthenticated:
			return Principal{}, ErrInvalidCredentials
		case codes.PermissionDenied, codes.NotFound:
			return Principal{}, ErrNoAccess
		}
		return Principal{}, err
	}
	return PrincipalFromProto(resp.GetPrincipal()), nil
}

// PrincipalFromProto converts the wire form. An unknown kind becomes an
// API key without scopes, which may do nothing.
func PrincipalFromProto(p *authv1.Principal) Principal {
	kind := KindAPIKey
	switch p.GetKind() {
	case authv1.PrincipalKind_PRINCIPAL_KIND_USER:
		kind = KindUser
	case authv1.PrincipalKind_PRINCIPAL_KIND_SERVICE:
		kind = KindService
	}
	out := Principal{
		Kind:           kind,
		KeyID:          p.GetKeyId(),
		PublicKey:      p.GetPublicKey(),
		UserID:         p.GetUserId(),
		Email:          p.GetEmail(),
		Role:           p.GetRole(),
		Service:        p.GetService(),
		OrganizationID: p.GetOrganizationId(),
		ProjectID:      p.GetProjectId(),
	}
	if kind == KindAPIKey && p.GetKind() == authv1.PrincipalKind_PRINCIPAL_KIND_API_KEY {
		out.Scopes = append([]authv1.APIKeyScope(nil), p.GetScopes()...)
	}
	return out
}

// PrincipalToProto converts to the wire form.
func PrincipalToProto(p Principal) *authv1.Principal {
	kind := authv1.PrincipalKind_PRINCIPAL_KIND_UNSPECIFIED
	switch p.Kind {
	case KindAPIKey:
		kind = authv1.PrincipalKind_PRINCIPAL_KIND_API_KEY
	case KindUser:
		kind = authv1.PrincipalKind_PRINCIPAL_KIND_USER
	case KindService:
		kind = authv1.PrincipalKind_PRINCIPAL_KIND_SERVICE
	}
	return &authv1.Principal{
		Kind:           kind,
		KeyId:          p.KeyID,
		PublicKey:      p.PublicKey,
		Scopes:         append([]authv1.APIKeyScope(nil), p.Scopes...),
		UserId:         p.UserID,
		Email:          p.Email,
		Role:           p.Role,
		Service:        p.Service,
		OrganizationId: p.OrganizationID,
		ProjectId:      p.ProjectID,
	}
}
