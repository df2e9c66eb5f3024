package authn

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
)

// Remote validates keys by asking the auth service.
type Remote struct {
	client authv1.AuthServiceClient
}

// NewRemote validates through conn (a connection to the auth service).
func NewRemote(conn grpc.ClientConnInterface) *Remote {
	return &Remote{client: authv1.NewAuthServiceClient(conn)}
}

// Validate asks auth; Unauthenticated and NotFound mean ErrInvalidKey.
func (r *Remote) Validate(ctx context.Context, c Credentials) (Principal, error) {
	resp, err := r.client.ValidateAPIKey(ctx, &authv1.ValidateAPIKeyRequest{PublicKey: c.PublicKey, SecretKey: c.SecretKey})
	if err != nil {
		switch status.Code(err) {
		case codes.Unauthenticated, codes.NotFound, codes.PermissionDenied:
			return Principal{}, ErrInvalidKey
		}
		return Principal{}, err
	}
	return Principal{
		KeyID:          resp.GetKeyId(),
		PublicKey:      resp.GetPublicKey(),
		ProjectID:      resp.GetProjectId(),
		OrganizationID: resp.GetOrganizationId(),
	}, nil
}
