package orgs

import (
	"fmt"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
)

const (
	owner  = authv1.Role_ROLE_OWNER
	admin  = authv1.Role_ROLE_ADMIN
	member = authv1.Role_ROLE_MEMBER
	viewer = authv1.Role_ROLE_VIEWER
)

// The rules below are pure: they decide on roles the caller has read from
// the database inside the transaction that then makes the change.

// validRole reports whether r is one of the four roles.
func validRole(r authv1.Role) bool {
	switch r {
	case owner, admin, member, viewer:
		return true
	}
	return false
}

// requireRole checks the field names a role (unspecified is refused).
func requireRole(field string, r authv1.Role) error {
	if !validRole(r) {
		return invalid(field, "must be ROLE_OWNER, ROLE_ADMIN, ROLE_MEMBER or ROLE_VIEWER")
	}
	return nil
}

func manages(actor authv1.Role) bool { return actor == owner || actor == admin }

func denied(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrPermissionDenied}, args...)...)
}

// canManage: OWNER and ADMIN manage members, project roles and invitations.
func canManage(actor authv1.Role) error {
	if !manages(actor) {
		return denied("only an OWNER or ADMIN may manage members and invitations")
	}
	return nil
}

// touchesOwner is the owner rule: granting or taking away OWNER needs an
// OWNER. roles are every role the change involves (the target's current
// role, its new role, ...).
func touchesOwner(actor authv1.Role, roles ...authv1.Role) error {
	for _, r := range roles {
		if r == owner && actor != owner {
			return denied("only an OWNER may grant or revoke the OWNER role")
		}
	}
	return nil
}

// checkRoleChange decides whether actor may move a member from current to
// next while the organization has owners owners.
func checkRoleChange(actor, current, next authv1.Role, owners int) error {
	if err := canManage(actor); err != nil {
		return err
	}
	if err := touchesOwner(actor, current, next); err != nil {
		return err
	}
	if current == owner && next != owner && owners <= 1 {
		return ErrLastOwner
	}
	return nil
}

// checkRemoval decides whether actor may remove a member whose role is
// target; self says the actor removes itself (leaves), which any role may.
func checkRemoval(actor, target authv1.Role, self bool, owners int) error {
	if !self {
		if err := canManage(actor); err != nil {
			return err
		}
		if err := touchesOwner(actor, target); err != nil {
			return err
		}
	}
	if target == owner && owners <= 1 {
		return ErrLastOwner
	}
	return nil
}

// checkProjectRole decides whether actor may change the project override
// of a member whose organization role is orgRole from current
// (ROLE_UNSPECIFIED: none) to next (ROLE_UNSPECIFIED: remove it). Lowering
// an owner in one project takes owner powers away, so it is an owner's
// decision as much as granting OWNER is.
func checkProjectRole(actor, orgRole, current, next authv1.Role) error {
	if err := canManage(actor); err != nil {
		return err
	}
	return touchesOwner(actor, orgRole, current, next)
}

// checkInvite decides whether actor may invite someone with role.
func checkInvite(actor, role authv1.Role) error {
	if err := canManage(actor); err != nil {
		return err
	}
	return touchesOwner(actor, role)
}
