package orgs

import (
	"errors"
	"testing"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
)

const none = authv1.Role_ROLE_UNSPECIFIED

func wantRuleErr(t *testing.T, got, want error) {
	t.Helper()
	if want == nil && got != nil || want != nil && !errors.Is(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestCheckRoleChange(t *testing.T) {
	tests := []struct {
		name                 string
		actor, current, next authv1.Role
		owners               int
		want                 error
	}{
		{"owner promotes to owner", owner, member, owner, 1, nil},
		{"owner demotes another owner", owner, owner, admin, 2, nil},
		{"owner demotes the last owner", owner, owner, admin, 1, ErrLastOwner},
		{"owner keeps the last owner owner", owner, owner, owner, 1, nil},
		{"admin promotes to admin", admin, viewer, admin, 1, nil},
		{"admin demotes an admin", admin, admin, member, 1, nil},
		{"admin grants owner", admin, member, owner, 1, ErrPermissionDenied},
		{"admin demotes an owner", admin, owner, admin, 2, ErrPermissionDenied},
		{"member changes roles", member, viewer, member, 1, ErrPermissionDenied},
		{"viewer changes roles", viewer, viewer, admin, 1, ErrPermissionDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantRuleErr(t, checkRoleChange(tt.actor, tt.current, tt.next, tt.owners), tt.want)
		})
	}
}

func TestCheckRemoval(t *testing.T) {
	tests := []struct {
		name          string
		actor, target authv1.Role
		self          bool
		owners        int
		want          error
	}{
		{"viewer leaves", viewer, viewer, true, 1, nil},
		{"owner leaves with another owner", owner, owner, true, 2, nil},
		{"last owner leaves", owner, owner, true, 1, ErrLastOwner},
		{"owner removes an owner", owner, owner, false, 2, nil},
		{"owner removes the last other owner", owner, owner, false, 1, ErrLastOwner},
		{"admin removes a member", admin, member, false, 1, nil},
		{"admin removes an admin", admin, admin, false, 1, nil},
		{"admin removes an owner", admin, owner, false, 2, ErrPermissionDenied},
		{"member removes a viewer", member, viewer, false, 1, ErrPermissionDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantRuleErr(t, checkRemoval(tt.actor, tt.target, tt.self, tt.owners), tt.want)
		})
	}
}

func TestCheckProjectRole(t *testing.T) {
	tests := []struct {
		name                          string
		actor, orgRole, current, next authv1.Role
		want                          error
	}{
		{"admin sets viewer override", admin, member, none, viewer, nil},
		{"admin removes an override", admin, member, admin, none, nil},
		{"admin grants project owner", admin, member, none, owner, ErrPermissionDenied},
		{"admin lowers an owner in a project", admin, owner, none, viewer, ErrPermissionDenied},
		{"admin removes an owner override", admin, member, owner, none, ErrPermissionDenied},
		{"owner grants project owner", owner, viewer, none, owner, nil},
		{"member sets overrides", member, viewer, none, member, ErrPermissionDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantRuleErr(t, checkProjectRole(tt.actor, tt.orgRole, tt.current, tt.next), tt.want)
		})
	}
}

func TestCheckInvite(t *testing.T) {
	tests := []struct {
		actor, role authv1.Role
		want        error
	}{
		{owner, owner, nil},
		{owner, viewer, nil},
		{admin, admin, nil},
		{admin, owner, ErrPermissionDenied},
		{member, viewer, ErrPermissionDenied},
		{viewer, viewer, ErrPermissionDenied},
	}
	for _, tt := range tests {
		t.Run(tt.actor.String()+"/"+tt.role.String(), func(t *testing.T) {
			wantRuleErr(t, checkInvite(tt.actor, tt.role), tt.want)
		})
	}
}

func TestRequireRole(t *testing.T) {
	for _, r := range []authv1.Role{owner, admin, member, viewer} {
		if err := requireRole("role", r); err != nil {
			t.Errorf("requireRole(%v) = %v", r, err)
		}
	}
	for _, r := range []authv1.Role{none, authv1.Role(99), authv1.Role(-1)} {
		if err := requireRole("role", r); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("requireRole(%v) = %v, want invalid argument", r, err)
		}
	}
}
