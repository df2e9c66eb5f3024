package grpcapi

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

func projectProto(p tenancy.Project) *authv1.Project {
	return &authv1.Project{
		Id:             p.ID.String(),
		OrganizationId: p.OrganizationID.String(),
		Name:           p.Name,
		CreatedAt:      timestamppb.New(p.CreatedAt),
	}
}

// keyProto never has a secret to copy: tenancy.APIKey holds none.
func keyProto(k tenancy.APIKey) *authv1.APIKey {
	return &authv1.APIKey{
		Id:         k.ID.String(),
		ProjectId:  k.ProjectID.String(),
		PublicKey:  k.PublicKey,
		SecretHint: k.SecretHint,
		Note:       k.Note,
		CreatedAt:  timestamppb.New(k.CreatedAt),
		LastUsedAt: optionalTime(k.LastUsedAt),
		RevokedAt:  optionalTime(k.RevokedAt),
		Scopes:     k.Scopes,
	}
}

func optionalTime(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return timestamppb.New(*t)
}
