package tenancy

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/agenttrace/agenttrace/pkg/authn"
)

// ProjectsCaller is the Caller for the organization-level project calls
// (CreateProject, ListProjects) of principal p, which name the organization
// requested (uuid.Nil: the principal's own).
//
// The permission table (pkg/authz) has already checked p's role, in the
// organization the interceptor resolved into p.OrganizationID. What is left
// here is that the call acts in that same organization, and that a user is
// still a member of it by the database (not only by a cached principal):
//
//   - an API key acts in its own organization only; naming another is
//     ErrNotFound, like any id outside the caller's organization;
//   - a user acts in the organization named, else the principal's; naming
//     one other than the principal's (say, with a project header of another
//     organization) is refused, since the role was checked elsewhere;
//   - a user who is not a member is told the organization does not exist.
func (s *Service) ProjectsCaller(ctx context.Context, p authn.Principal, requested uuid.UUID) (Caller, error) {
	var own uuid.UUID
	if p.OrganizationID != "" {
		id, err := uuid.Parse(p.OrganizationID)
		if err != nil {
			return Caller{}, errUnexpectedPrincipal
		}
		own = id
	}
	switch p.Kind {
	case authn.KindAPIKey:
		if requested != uuid.Nil && requested != own {
			return Caller{}, fmt.Errorf("organization %s: %w", requested, ErrNotFound)
		}
		project, err := uuid.Parse(p.ProjectID)
		if err != nil || own == uuid.Nil {
			return Caller{}, errUnexpectedPrincipal
		}
		return Caller{OrganizationID: own, ProjectID: project}, nil
	case authn.KindUser:
		user, err := uuid.Parse(p.UserID)
		if err != nil {
			return Caller{}, errUnexpectedPrincipal
		}
		org := own
		switch {
		case requested != uuid.Nil && own != uuid.Nil && requested != own:
			return Caller{}, invalid("organization_id", "names another organization than the one the call was authorized in (the x-agenttrace-project header's)")
		case requested != uuid.Nil:
			org = requested
		case org == uuid.Nil:
			return Caller{}, invalid("organization_id", "required: name the organization")
		}
		if _, err := s.store.MemberRole(ctx, org, user); err != nil {
			if errors.Is(err, ErrNotFound) {
				return Caller{}, fmt.Errorf("organization %s: %w", org, ErrNotFound)
			}
			return Caller{}, err
		}
		return Caller{OrganizationID: org}, nil
	}
	// The permission table lets no service manage projects: reaching here
	// is a wiring bug.
	return Caller{}, fmt.Errorf("%w: kind %d", errUnexpectedPrincipal, p.Kind)
}

// errUnexpectedPrincipal: the principal is not one the permission table
// lets in, or carries malformed ids; whatever produced it is broken. Not a
// caller's error, so it maps to Internal.
var errUnexpectedPrincipal = errors.New("unexpected principal")
