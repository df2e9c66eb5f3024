package orgs

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/services/auth/internal/audit"
	"github.com/agenttrace/agenttrace/services/auth/internal/identity"
)

// ListMembers lists the members of orgID (the caller's organization when
// Nil); any member may.
func (s *Service) ListMembers(ctx context.Context, c Caller, orgID uuid.UUID) ([]Member, error) {
	if err := requireUser(c); err != nil {
		return nil, err
	}
	orgID, err := targetOrg(c, orgID)
	if err != nil {
		return nil, err
	}
	if _, err := s.store.MemberRole(ctx, orgID, c.UserID); err != nil {
		return nil, hide(err, orgNotFound(orgID))
	}
	return s.store.ListMembers(ctx, orgID)
}

// UpdateMemberRole gives a member of orgID (the caller's organization when
// Nil) a new organization role.
func (s *Service) UpdateMemberRole(ctx context.Context, c Caller, orgID, userID uuid.UUID, role authv1.Role) (Member, error) {
	if err := requireUser(c); err != nil {
		return Member{}, err
	}
	orgID, err := targetOrg(c, orgID)
	if err != nil {
		return Member{}, err
	}
	if err := requireUserID(userID); err != nil {
		return Member{}, err
	}
	if err := requireRole("role", role); err != nil {
		return Member{}, err
	}
	var m Member
	err = s.store.InTx(ctx, func(tx Tx) error {
		actor, err := lockedActorRole(ctx, tx, orgID, c.UserID, orgNotFound(orgID))
		if err != nil {
			return err
		}
		current, err := tx.MemberRole(ctx, orgID, userID)
		if err != nil {
			return hide(err, memberNotFound(userID))
		}
		owners, err := tx.CountOwners(ctx, orgID)
		if err != nil {
			return err
		}
		if err := checkRoleChange(actor, current, role, owners); err != nil {
			return err
		}
		if current != role {
			if err := tx.SetMemberRole(ctx, orgID, userID, role); err != nil {
				return err
			}
			e := memberEntry(audit.ActionMemberRoleChange, orgID, userID, role)
			e.Details["previous_role"] = identity.RoleName(current)
			if err := tx.Record(ctx, e); err != nil {
				return err
			}
		}
		m, err = tx.Member(ctx, orgID, userID)
		return err
	})
	if err != nil {
		return Member{}, err
	}
	// Announced even when the role did not change, so that retrying a call
	// whose announcement failed announces it again.
	return m, s.invalidate(ctx, userID, "role changed")
}

// RemoveMember removes a member from orgID (the caller's organization when
// Nil). Members may remove themselves, unless they are the last owner.
func (s *Service) RemoveMember(ctx context.Context, c Caller, orgID, userID uuid.UUID) error {
	if err := requireUser(c); err != nil {
		return err
	}
	orgID, err := targetOrg(c, orgID)
	if err != nil {
		return err
	}
	if err := requireUserID(userID); err != nil {
		return err
	}
	err = s.store.InTx(ctx, func(tx Tx) error {
		actor, err := lockedActorRole(ctx, tx, orgID, c.UserID, orgNotFound(orgID))
		if err != nil {
			return err
		}
		target, err := tx.MemberRole(ctx, orgID, userID)
		if err != nil {
			return hide(err, memberNotFound(userID))
		}
		owners, err := tx.CountOwners(ctx, orgID)
		if err != nil {
			return err
		}
		if err := checkRemoval(actor, target, userID == c.UserID, owners); err != nil {
			return err
		}
		if err := tx.RemoveMember(ctx, orgID, userID); err != nil {
			return err
		}
		return tx.Record(ctx, memberEntry(audit.ActionMemberRemove, orgID, userID, target))
	})
	if err != nil {
		return err
	}
	return s.invalidate(ctx, userID, "member removed")
}

// SetProjectRole overrides a member's role in one project;
// ROLE_UNSPECIFIED removes the override. The project's organization is the
// one whose rules apply.
func (s *Service) SetProjectRole(ctx context.Context, c Caller, projectID, userID uuid.UUID, role authv1.Role) (Member, error) {
	if err := requireUser(c); err != nil {
		return Member{}, err
	}
	if projectID == uuid.Nil {
		return Member{}, invalid("project_id", "required")
	}
	if err := requireUserID(userID); err != nil {
		return Member{}, err
	}
	if role != authv1.Role_ROLE_UNSPECIFIED {
		if err := requireRole("role", role); err != nil {
			return Member{}, err
		}
	}
	orgID, err := s.store.ProjectOrganization(ctx, projectID)
	if err != nil {
		return Member{}, hide(err, projectNotFound(projectID))
	}
	var m Member
	err = s.store.InTx(ctx, func(tx Tx) error {
		actor, err := lockedActorRole(ctx, tx, orgID, c.UserID, projectNotFound(projectID))
		if err != nil {
			return err
		}
		orgRole, err := tx.MemberRole(ctx, orgID, userID)
		if err != nil {
			return hide(err, memberNotFound(userID))
		}
		current, err := tx.ProjectRole(ctx, projectID, userID)
		if err != nil {
			return err
		}
		if err := checkProjectRole(actor, orgRole, current, role); err != nil {
			return err
		}
		if current != role {
			if err := tx.SetProjectRole(ctx, orgID, projectID, userID, role); err != nil {
				return err
			}
			if err := tx.Record(ctx, projectRoleEntry(orgID, projectID, userID, current, role)); err != nil {
				return err
			}
		}
		m, err = tx.Member(ctx, orgID, userID)
		return err
	})
	if err != nil {
		return Member{}, err
	}
	return m, s.invalidate(ctx, userID, "project role changed")
}

// ActionProjectRoleSet is the audit action of SetProjectRole.
const ActionProjectRoleSet = "project_role.set"

func projectRoleEntry(orgID, projectID, userID uuid.UUID, previous, next authv1.Role) audit.Entry {
	details := map[string]string{}
	// An absent role means "no override": the organization role applies.
	if next != authv1.Role_ROLE_UNSPECIFIED {
		details["role"] = identity.RoleName(next)
	}
	if previous != authv1.Role_ROLE_UNSPECIFIED {
		details["previous_role"] = identity.RoleName(previous)
	}
	return audit.Entry{
		OrganizationID: orgID, ProjectID: projectID, Action: ActionProjectRoleSet,
		TargetKind: "user", TargetID: userID.String(), Details: details,
	}
}

// lockedActorRole takes the organization's membership lock and reads the
// acting user's role under it. A caller that is not a member gets notFound,
// exactly what it would get if the organization did not exist.
func lockedActorRole(ctx context.Context, tx Tx, orgID, userID uuid.UUID, notFound error) (authv1.Role, error) {
	if err := tx.LockOrganization(ctx, orgID); err != nil {
		return authv1.Role_ROLE_UNSPECIFIED, hide(err, notFound)
	}
	role, err := tx.MemberRole(ctx, orgID, userID)
	return role, hide(err, notFound)
}

// hide replaces an ErrNotFound by notFound, so that "no such thing" and
// "not yours" read the same whatever step found it out.
func hide(err, notFound error) error {
	if errors.Is(err, ErrNotFound) {
		return notFound
	}
	return err
}

func orgNotFound(id uuid.UUID) error { return fmt.Errorf("organization %s: %w", id, ErrNotFound) }

func memberNotFound(id uuid.UUID) error { return fmt.Errorf("member %s: %w", id, ErrNotFound) }

func projectNotFound(id uuid.UUID) error { return fmt.Errorf("project %s: %w", id, ErrNotFound) }

func requireUserID(id uuid.UUID) error {
	if id == uuid.Nil {
		return invalid("user_id", "required")
	}
	return nil
}

// invalidate announces that the user's access changed. The change is
// committed by then; a failed announcement leaves other replicas trusting
// their cached principals until the cache TTL, so the caller is told to
// retry (which announces again) rather than that all went well.
func (s *Service) invalidate(ctx context.Context, userID uuid.UUID, what string) error {
	if err := s.invalidator.InvalidateUser(ctx, userID); err != nil {
		return fmt.Errorf("%w: %s, but other replicas could not be told at once (they notice within the cache TTL; retry to announce again): %w",
			ErrUnavailable, what, err)
	}
	return nil
}
