package grpcapi

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/agenttrace/agenttrace/pkg/authn"
	"github.com/agenttrace/agenttrace/services/auth/internal/grpcstatus"
)

// status maps an error to the gRPC status returned to the caller: the
// authentication errors of Authenticate here, everything else by
// grpcstatus's common mapping.
func (s *Server) status(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, authn.ErrNoCredentials), errors.Is(err, authn.ErrInvalidCredentials):
		return status.Error(codes.Unauthenticated, authn.ErrInvalidCredentials.Error())
	case errors.Is(err, authn.ErrNoAccess):
		return status.Error(codes.PermissionDenied, authn.ErrNoAccess.Error())
	}
	return grpcstatus.Of(ctx, s.log, err)
}
