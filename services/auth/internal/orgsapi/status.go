package orgsapi

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/agenttrace/agenttrace/services/auth/internal/grpcstatus"
	"github.com/agenttrace/agenttrace/services/auth/internal/identity"
	"github.com/agenttrace/agenttrace/services/auth/internal/orgs"
)

// status maps an error to the gRPC status returned to the caller: the
// invitation and organization rules here, everything else (field errors,
// not found, conflicts, unavailability) by grpcstatus's common mapping.
func (s *Server) status(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, identity.ErrInvitationUnknown):
		return status.Error(codes.NotFound, identity.ErrInvitationUnknown.Error())
	case errors.Is(err, identity.ErrInvitationForOther):
		return status.Error(codes.PermissionDenied, identity.ErrInvitationForOther.Error())
	case errors.Is(err, identity.ErrInvitationInvalid):
		return status.Error(codes.FailedPrecondition, err.Error())
	case errors.Is(err, orgs.ErrNotAUser), errors.Is(err, orgs.ErrPermissionDenied):
		return status.Error(codes.PermissionDenied, err.Error())
	case errors.Is(err, orgs.ErrFailedPrecondition):
		return status.Error(codes.FailedPrecondition, err.Error())
	}
	return grpcstatus.Of(ctx, s.log, err)
}
