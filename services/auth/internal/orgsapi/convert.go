package orgsapi

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/services/auth/internal/identity"
	"github.com/agenttrace/agenttrace/services/auth/internal/orgs"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

func organizationProto(o tenancy.Organization) *authv1.Organization {
	return &authv1.Organization{Id: o.ID.String(), Name: o.Name, CreatedAt: timestamppb.New(o.CreatedAt)}
}

func memberProto(m orgs.Member) *authv1.Member {
	out := &authv1.Member{
		User: &authv1.User{
			Id:        m.UserID.String(),
			Email:     m.Email,
			Name:      m.Name,
			CreatedAt: timestamppb.New(m.UserCreatedAt),
		},
		OrganizationId: m.OrganizationID.String(),
		Role:           m.Role,
		ProjectRoles:   make(map[string]authv1.Role, len(m.ProjectRoles)),
		JoinedAt:       timestamppb.New(m.JoinedAt),
	}
	for p, r := range m.ProjectRoles {
		out.ProjectRoles[p.String()] = r
	}
	return out
}

// invitationProto never has a token to copy: identity.Invitation holds none.
func invitationProto(inv identity.Invitation) *authv1.Invitation {
	out := &authv1.Invitation{
		Id:             inv.ID.String(),
		OrganizationId: inv.OrganizationID.String(),
		Email:          inv.Email,
		Role:           inv.Role,
		CreatedAt:      timestamppb.New(inv.CreatedAt),
		ExpiresAt:      timestamppb.New(inv.ExpiresAt),
		AcceptedAt:     optionalTime(inv.AcceptedAt),
		RevokedAt:      optionalTime(inv.RevokedAt),
	}
	if inv.InvitedByUserID != nil {
		out.InvitedByUserId = inv.InvitedByUserID.String()
	}
	return out
}

func membershipProto(m identity.Membership) *authv1.Membership {
	return &authv1.Membership{OrganizationId: m.OrganizationID.String(), OrganizationName: m.OrganizationName, Role: m.Role}
}

func optionalTime(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return timestamppb.New(*t)
}
