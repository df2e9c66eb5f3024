package orgs

import (
	"errors"
	"fmt"

	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

// Sentinel errors, mapped to gRPC codes once at the transport edge. The
// ones shared with the rest of the auth service are the tenancy sentinels,
// so that store errors mean the same thing everywhere.
var (
	// ErrNotFound: no such object, or one the caller may not know about.
	ErrNotFound = tenancy.ErrNotFound
	// ErrAlreadyExists: the name is taken, or the user is a member already.
	ErrAlreadyExists = tenancy.ErrAlreadyExists
	// ErrInvalidArgument: a request field is malformed; see tenancy.FieldError.
	ErrInvalidArgument = tenancy.ErrInvalidArgument
	// ErrUnavailable: a dependency failed; the caller should retry.
	ErrUnavailable = tenancy.ErrUnavailable

	// ErrPermissionDenied: the caller is a member but its role does not
	// allow this.
	ErrPermissionDenied = errors.New("permission denied")
	// ErrNotAUser: organization administration needs a user's access token.
	ErrNotAUser = errors.New("this call needs a user's access token, not an API key or service credentials")
	// ErrFailedPrecondition: the object is not in a state that allows this.
	ErrFailedPrecondition = errors.New("failed precondition")
)

// Reasons for ErrFailedPrecondition.
var (
	// ErrLastOwner: the change would leave the organization without an owner.
	ErrLastOwner = fmt.Errorf("%w: an organization must keep at least one owner; make another member OWNER first", ErrFailedPrecondition)
	// ErrInvitationAccepted: an accepted invitation cannot be revoked;
	// remove the member instead.
	ErrInvitationAccepted = fmt.Errorf("%w: the invitation was already accepted; remove the member instead", ErrFailedPrecondition)
)

func invalid(field, description string) error {
	return &tenancy.FieldError{Field: field, Description: description}
}
