package identityapi

import (
	"context"
	"errors"
	"math"
	"strconv"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/agenttrace/agenttrace/services/auth/internal/grpcstatus"
	"github.com/agenttrace/agenttrace/services/auth/internal/identity"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

// invitationReasons are the texts a refused invitation may be answered
// with; they are written for the caller and tell nothing beyond what the
// token's holder knows.
var invitationReasons = []error{
	identity.ErrInvitationUnknown, identity.ErrInvitationExpired, identity.ErrInvitationRevoked,
	identity.ErrInvitationUsed, identity.ErrInvitationForOther,
}

// status maps err to the status returned to the caller. Identity errors get
// fixed, caller-facing texts (never the wrapped detail, which may name ids);
// the rest is grpcstatus's common mapping.
func (s *Server) status(ctx context.Context, err error) error {
	var rl *identity.RateLimitError
	switch {
	case errors.As(err, &rl):
		return s.rateLimited(ctx, rl)
	case errors.Is(err, identity.ErrInvalidCredentials):
		return status.Error(codes.Unauthenticated, identity.ErrInvalidCredentials.Error())
	case errors.Is(err, identity.ErrInvalidRefreshToken):
		return status.Error(codes.Unauthenticated, identity.ErrInvalidRefreshToken.Error())
	case errors.Is(err, identity.ErrInvitationRequired):
		return status.Error(codes.FailedPrecondition, identity.ErrInvitationRequired.Error())
	case errors.Is(err, identity.ErrInvitationInvalid):
		for _, reason := range invitationReasons {
			if errors.Is(err, reason) {
				return status.Error(codes.PermissionDenied, reason.Error())
			}
		}
		return status.Error(codes.PermissionDenied, identity.ErrInvitationInvalid.Error())
	case errors.Is(err, identity.ErrUserGone):
		return status.Error(codes.Unauthenticated, identity.ErrUserGone.Error())
	case errors.Is(err, identity.ErrNotAUser):
		return status.Error(codes.PermissionDenied, identity.ErrNotAUser.Error())
	case errors.Is(err, tenancy.ErrAlreadyExists) && !isFieldError(err):
		// The only conflict of a signup besides the organization name
		// (a field error) is the email.
		return status.Error(codes.AlreadyExists, "an account with this email address exists; log in instead")
	}
	return grpcstatus.Of(ctx, s.log, err)
}

func isFieldError(err error) bool {
	var fe *tenancy.FieldError
	return errors.As(err, &fe)
}

// rateLimited is ResourceExhausted with RetryInfo and a retry-after header
// (whole seconds, rounded up), as pkg/ratelimit answers, so the gateway
// turns it into 429 with Retry-After.
func (s *Server) rateLimited(ctx context.Context, rl *identity.RateLimitError) error {
	secs := int64(math.Ceil(rl.RetryAfter.Seconds()))
	if err := grpc.SetHeader(ctx, metadata.Pairs("retry-after", strconv.FormatInt(secs, 10))); err != nil {
		s.log.DebugContext(ctx, "cannot set retry-after header", "err", err)
	}
	st := status.New(codes.ResourceExhausted, rl.Error())
	detailed, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(rl.RetryAfter)})
	if err != nil {
		return st.Err()
	}
	return detailed.Err()
}
