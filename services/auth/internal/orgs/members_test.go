package orgs_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/agenttrace/agenttrace/pkg/authn"
	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/services/auth/internal/orgs"
)

func TestCreateAndListOrganizations(t *testing.T) {
	e := newEnv(t)
	u := e.newUser(t)
	ctx := u.ctx(uuid.Nil)

	org, err := e.svc.CreateOrganization(ctx, u.caller(uuid.Nil), "  Acme "+u.id.String()+"  ")
	if err != nil {
		t.Fatal(err)
	}
	if org.Name != "Acme "+u.id.String() || org.CreatedAt.IsZero() {
		t.Fatalf("organization %+v", org)
	}
	if got := e.role(t, org.ID, u.id); got != owner {
		t.Fatalf("creator's role = %v, want OWNER", got)
	}
	got := e.audits(t, org.ID)
	if len(got) != 2 || got[0].action != "organization.create" || got[0].details["name"] != org.Name ||
		got[1].action != "member.add" || got[1].targetID != u.id.String() || got[1].details["role"] != "OWNER" ||
		got[0].actorID != u.id.String() {
		t.Fatalf("audit = %+v", got)
	}

	second, err := e.svc.CreateOrganization(ctx, u.caller(uuid.Nil), "Beta "+u.id.String())
	if err != nil {
		t.Fatal(err)
	}
	list, err := e.svc.ListOrganizations(ctx, u.caller(uuid.Nil))
	if err != nil || len(list) != 2 || list[0].ID != org.ID || list[1].ID != second.ID {
		t.Fatalf("ListOrganizations = %+v, %v", list, err)
	}
	if list, err := e.svc.ListOrganizations(ctx, e.newUser(t).caller(uuid.Nil)); err != nil || len(list) != 0 {
		t.Fatalf("a stranger's organizations = %+v, %v", list, err)
	}

	t.Run("name taken", func(t *testing.T) {
		_, err := e.svc.CreateOrganization(ctx, u.caller(uuid.Nil), org.Name)
		wantErr(t, err, orgs.ErrAlreadyExists)
	})
	t.Run("bad name", func(t *testing.T) {
		_, err := e.svc.CreateOrganization(ctx, u.caller(uuid.Nil), " \t")
		wantErr(t, err, orgs.ErrInvalidArgument)
	})
}

func TestOnlyUsersAdministerOrganizations(t *testing.T) {
	e := newEnv(t)
	tn := e.newTenant(t)
	ctx := context.Background()
	for name, c := range map[string]orgs.Caller{
		"api key": {Kind: authn.KindAPIKey, OrganizationID: tn.org.ID},
		"service": {Kind: authn.KindService, OrganizationID: tn.org.ID},
		"no user": {Kind: authn.KindUser, OrganizationID: tn.org.ID},
	} {
		calls := map[string]func() error{
			"CreateOrganization": func() error { _, err := e.svc.CreateOrganization(ctx, c, "x"); return err },
			"ListOrganizations":  func() error { _, err := e.svc.ListOrganizations(ctx, c); return err },
			"ListMembers":        func() error { _, err := e.svc.ListMembers(ctx, c, tn.org.ID); return err },
			"UpdateMemberRole": func() error {
				_, err := e.svc.UpdateMemberRole(ctx, c, tn.org.ID, tn.owner.id, admin)
				return err
			},
			"RemoveMember": func() error { return e.svc.RemoveMember(ctx, c, tn.org.ID, tn.owner.id) },
			"SetProjectRole": func() error {
				_, err := e.svc.SetProjectRole(ctx, c, tn.project.ID, tn.owner.id, viewer)
				return err
			},
			"CreateInvitation": func() error {
				_, err := e.svc.CreateInvitation(ctx, c, tn.org.ID, "x@example.com", viewer)
				return err
			},
			"ListInvitations":  func() error { _, err := e.svc.ListInvitations(ctx, c, tn.org.ID); return err },
			"RevokeInvitation": func() error { _, err := e.svc.RevokeInvitation(ctx, c, uuid.New()); return err },
			"AcceptInvitation": func() error { _, err := e.svc.AcceptInvitation(ctx, c, "inv-at-x"); return err },
		}
		for rpc, call := range calls {
			t.Run(name+"/"+rpc, func(t *testing.T) { wantErr(t, call(), orgs.ErrNotAUser) })
		}
	}
	if got := e.role(t, tn.org.ID, tn.owner.id); got != owner {
		t.Fatalf("owner's role = %v after refused calls", got)
	}
}

func TestListMembers(t *testing.T) {
	e := newEnv(t)
	tn := e.newTenant(t)
	v := e.addMember(t, tn, viewer)
	if _, err := e.svc.SetProjectRole(tn.owner.ctx(tn.org.ID), tn.owner.caller(tn.org.ID), tn.project.ID, v.id, member); err != nil {
		t.Fatal(err)
	}
	// Any member may list, the organization defaulting to the caller's.
	ms, err := e.svc.ListMembers(v.ctx(tn.org.ID), v.caller(tn.org.ID), uuid.Nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].UserID != tn.owner.id || ms[0].Role != owner || ms[0].Email != tn.owner.email ||
		ms[1].UserID != v.id || ms[1].Role != viewer || ms[1].ProjectRoles[tn.project.ID] != member ||
		len(ms[0].ProjectRoles) != 0 || ms[1].JoinedAt.IsZero() || ms[1].OrganizationID != tn.org.ID {
		t.Fatalf("members = %+v", ms)
	}
	// A caller without a default organization must name one.
	_, err = e.svc.ListMembers(v.ctx(uuid.Nil), v.caller(uuid.Nil), uuid.Nil)
	wantErr(t, err, orgs.ErrInvalidArgument)
}

func TestUpdateMemberRole(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name        string
		actor, from authv1.Role
		to          authv1.Role
		want        error
	}{
		{"owner makes a member admin", owner, member, admin, nil},
		{"owner makes a viewer owner", owner, viewer, owner, nil},
		{"owner demotes another owner", owner, owner, viewer, nil},
		{"admin makes a viewer admin", admin, viewer, admin, nil},
		{"admin demotes an admin", admin, admin, member, nil},
		{"admin cannot grant owner", admin, member, owner, orgs.ErrPermissionDenied},
		{"admin cannot demote an owner", admin, owner, admin, orgs.ErrPermissionDenied},
		{"member cannot change roles", member, viewer, member, orgs.ErrPermissionDenied},
		{"viewer cannot change roles", viewer, viewer, admin, orgs.ErrPermissionDenied},
		{"role is required", owner, member, none, orgs.ErrInvalidArgument},
		{"role must be known", owner, member, authv1.Role(42), orgs.ErrInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tn := e.newTenant(t)
			actor := tn.owner
			if tt.actor != owner {
				actor = e.addMember(t, tn, tt.actor)
			}
			target := e.addMember(t, tn, tt.from)
			before := len(e.audits(t, tn.org.ID))
			e.inval.take()

			m, err := e.svc.UpdateMemberRole(actor.ctx(tn.org.ID), actor.caller(tn.org.ID), uuid.Nil, target.id, tt.to)
			wantErr(t, err, tt.want)
			if tt.want != nil {
				if got := e.role(t, tn.org.ID, target.id); got != tt.from {
					t.Fatalf("role = %v after a refused change, want %v", got, tt.from)
				}
				if n := len(e.audits(t, tn.org.ID)); n != before {
					t.Fatalf("refused change audited (%d events, had %d)", n, before)
				}
				return
			}
			if m.UserID != target.id || m.Role != tt.to || e.role(t, tn.org.ID, target.id) != tt.to {
				t.Fatalf("member = %+v", m)
			}
			a := e.lastAudit(t, tn.org.ID)
			if a.action != "member.role_change" || a.actorID != actor.id.String() || a.targetID != target.id.String() ||
				a.details["role"] != tt.to.String()[5:] || a.details["previous_role"] != tt.from.String()[5:] {
				t.Fatalf("audit = %+v", a)
			}
			if got := e.inval.take(); len(got) != 1 || got[0] != target.id {
				t.Fatalf("invalidated %v, want %v", got, target.id)
			}
		})
	}

	t.Run("unchanged role is not audited but announced", func(t *testing.T) {
		tn := e.newTenant(t)
		v := e.addMember(t, tn, viewer)
		before := len(e.audits(t, tn.org.ID))
		e.inval.take()
		if _, err := e.svc.UpdateMemberRole(tn.owner.ctx(tn.org.ID), tn.owner.caller(tn.org.ID), tn.org.ID, v.id, viewer); err != nil {
			t.Fatal(err)
		}
		if n := len(e.audits(t, tn.org.ID)); n != before {
			t.Fatalf("no-op audited")
		}
		if got := e.inval.take(); len(got) != 1 {
			t.Fatalf("invalidated %v", got)
		}
	})
	t.Run("not a member", func(t *testing.T) {
		tn := e.newTenant(t)
		_, err := e.svc.UpdateMemberRole(tn.owner.ctx(tn.org.ID), tn.owner.caller(tn.org.ID), tn.org.ID, e.newUser(t).id, viewer)
		wantErr(t, err, orgs.ErrNotFound)
	})
	t.Run("user id required", func(t *testing.T) {
		tn := e.newTenant(t)
		_, err := e.svc.UpdateMemberRole(tn.owner.ctx(tn.org.ID), tn.owner.caller(tn.org.ID), tn.org.ID, uuid.Nil, viewer)
		wantErr(t, err, orgs.ErrInvalidArgument)
	})
}

func TestLastOwnerIsKept(t *testing.T) {
	e := newEnv(t)
	tn := e.newTenant(t)
	o := tn.owner
	ctx, c := o.ctx(tn.org.ID), o.caller(tn.org.ID)

	_, err := e.svc.UpdateMemberRole(ctx, c, tn.org.ID, o.id, admin)
	wantErr(t, err, orgs.ErrLastOwner)
	wantErr(t, e.svc.RemoveMember(ctx, c, tn.org.ID, o.id), orgs.ErrLastOwner)
	if got := e.role(t, tn.org.ID, o.id); got != owner {
		t.Fatalf("last owner's role = %v", got)
	}

	// With a second owner, the first may step down; then the second is last.
	o2 := e.addMember(t, tn, owner)
	if _, err := e.svc.UpdateMemberRole(ctx, c, tn.org.ID, o.id, member); err != nil {
		t.Fatal(err)
	}
	wantErr(t, e.svc.RemoveMember(o2.ctx(tn.org.ID), o2.caller(tn.org.ID), tn.org.ID, o2.id), orgs.ErrLastOwner)
}

// Two owners demoting each other at once must not leave the organization
// without an owner: the organization lock serializes them, and the second
// sees it would demote the last owner.
func TestConcurrentOwnerDemotionsKeepAnOwner(t *testing.T) {
	e := newEnv(t)
	for range 5 {
		tn := e.newTenant(t)
		a, b := tn.owner, e.addMember(t, tn, owner)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, pair := range [][2]user{{a, b}, {b, a}} {
			wg.Go(func() {
				actor, target := pair[0], pair[1]
				_, errs[i] = e.svc.UpdateMemberRole(actor.ctx(tn.org.ID), actor.caller(tn.org.ID), tn.org.ID, target.id, admin)
			})
		}
		wg.Wait()
		owners := 0
		for _, u := range []user{a, b} {
			if e.role(t, tn.org.ID, u.id) == owner {
				owners++
			}
		}
		if owners != 1 {
			t.Fatalf("%d owners left (errors %v)", owners, errs)
		}
		failed := 0
		for _, err := range errs {
			if err != nil {
				// The loser is either the last-owner rule or, having just
				// been demoted, no longer an owner.
				if !errors.Is(err, orgs.ErrLastOwner) && !errors.Is(err, orgs.ErrPermissionDenied) {
					t.Fatalf("unexpected error %v", err)
				}
				failed++
			}
		}
		if failed != 1 {
			t.Fatalf("errors %v; want exactly one refusal", errs)
		}
	}
}

func TestRemoveMember(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name          string
		actor, target authv1.Role
		self          bool
		want          error
	}{
		{"owner removes an admin", owner, admin, false, nil},
		{"owner removes another owner", owner, owner, false, nil},
		{"admin removes a member", admin, member, false, nil},
		{"admin removes an admin", admin, admin, false, nil},
		{"viewer leaves", viewer, viewer, true, nil},
		{"admin cannot remove an owner", admin, owner, false, orgs.ErrPermissionDenied},
		{"member cannot remove others", member, viewer, false, orgs.ErrPermissionDenied},
		{"viewer cannot remove others", viewer, member, false, orgs.ErrPermissionDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tn := e.newTenant(t)
			actor := tn.owner
			if tt.actor != owner || tt.self {
				actor = e.addMember(t, tn, tt.actor)
			}
			target := actor
			if !tt.self {
				target = e.addMember(t, tn, tt.target)
			}
			// An override, to see it go with the membership.
			if _, err := e.svc.SetProjectRole(tn.owner.ctx(tn.org.ID), tn.owner.caller(tn.org.ID), tn.project.ID, target.id, viewer); err != nil {
				t.Fatal(err)
			}
			e.inval.take()

			err := e.svc.RemoveMember(actor.ctx(tn.org.ID), actor.caller(tn.org.ID), uuid.Nil, target.id)
			wantErr(t, err, tt.want)
			if tt.want != nil {
				if e.role(t, tn.org.ID, target.id) != tt.target {
					t.Fatal("refused removal removed")
				}
				return
			}
			if got := e.role(t, tn.org.ID, target.id); got != none {
				t.Fatalf("removed member still has role %v", got)
			}
			var overrides int
			if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM project_roles WHERE user_id = $1`, target.id).Scan(&overrides); err != nil || overrides != 0 {
				t.Fatalf("%d overrides left (%v)", overrides, err)
			}
			a := e.lastAudit(t, tn.org.ID)
			if a.action != "member.remove" || a.actorID != actor.id.String() || a.targetID != target.id.String() {
				t.Fatalf("audit = %+v", a)
			}
			if got := e.inval.take(); len(got) != 1 || got[0] != target.id {
				t.Fatalf("invalidated %v", got)
			}
			// Once removed, a member is not found: not even by itself.
			wantErr(t, e.svc.RemoveMember(actor.ctx(tn.org.ID), actor.caller(tn.org.ID), tn.org.ID, target.id), orgs.ErrNotFound)
		})
	}
}

func TestSetProjectRole(t *testing.T) {
	e := newEnv(t)
	tn := e.newTenant(t)
	ad := e.addMember(t, tn, admin)
	m := e.addMember(t, tn, member)
	actx, ac := ad.ctx(tn.org.ID), ad.caller(tn.org.ID)
	e.inval.take()

	got, err := e.svc.SetProjectRole(actx, ac, tn.project.ID, m.id, viewer)
	if err != nil || got.ProjectRoles[tn.project.ID] != viewer || got.Role != member {
		t.Fatalf("SetProjectRole = %+v, %v", got, err)
	}
	a := e.lastAudit(t, tn.org.ID)
	if a.action != "project_role.set" || a.details["role"] != "VIEWER" || a.details["previous_role"] != "" || a.targetID != m.id.String() {
		t.Fatalf("audit = %+v", a)
	}
	if got, err = e.svc.SetProjectRole(actx, ac, tn.project.ID, m.id, admin); err != nil || got.ProjectRoles[tn.project.ID] != admin {
		t.Fatalf("change override = %+v, %v", got, err)
	}
	if a := e.lastAudit(t, tn.org.ID); a.details["previous_role"] != "VIEWER" || a.details["role"] != "ADMIN" {
		t.Fatalf("audit = %+v", a)
	}
	if got, err = e.svc.SetProjectRole(actx, ac, tn.project.ID, m.id, none); err != nil || len(got.ProjectRoles) != 0 {
		t.Fatalf("remove override = %+v, %v", got, err)
	}
	if a := e.lastAudit(t, tn.org.ID); a.details["previous_role"] != "ADMIN" || a.details["role"] != "" {
		t.Fatalf("audit = %+v", a)
	}
	if inv := e.inval.take(); len(inv) != 3 {
		t.Fatalf("invalidated %v, want 3 announcements", inv)
	}

	errCases := []struct {
		name    string
		actor   user
		project uuid.UUID
		target  uuid.UUID
		role    authv1.Role
		want    error
	}{
		{"admin cannot grant project owner", ad, tn.project.ID, m.id, owner, orgs.ErrPermissionDenied},
		{"admin cannot lower an owner", ad, tn.project.ID, tn.owner.id, viewer, orgs.ErrPermissionDenied},
		{"member cannot set overrides", m, tn.project.ID, ad.id, viewer, orgs.ErrPermissionDenied},
		{"unknown project", ad, uuid.New(), m.id, viewer, orgs.ErrNotFound},
		{"not a member", ad, tn.project.ID, e.newUser(t).id, viewer, orgs.ErrNotFound},
		{"project required", ad, uuid.Nil, m.id, viewer, orgs.ErrInvalidArgument},
		{"user required", ad, tn.project.ID, uuid.Nil, viewer, orgs.ErrInvalidArgument},
		{"unknown role", ad, tn.project.ID, m.id, authv1.Role(7), orgs.ErrInvalidArgument},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.SetProjectRole(tc.actor.ctx(tn.org.ID), tc.actor.caller(tn.org.ID), tc.project, tc.target, tc.role)
			wantErr(t, err, tc.want)
		})
	}
	// The owner may do what the admin may not.
	if _, err := e.svc.SetProjectRole(tn.owner.ctx(tn.org.ID), tn.owner.caller(tn.org.ID), tn.project.ID, m.id, owner); err != nil {
		t.Fatal(err)
	}
}

// An announcement that fails is reported, but the committed change stays.
func TestFailedInvalidationIsReported(t *testing.T) {
	e := newEnv(t)
	tn := e.newTenant(t)
	v := e.addMember(t, tn, viewer)
	e.inval.fail = errors.New("nats down")
	defer func() { e.inval.fail = nil }()
	ctx, c := tn.owner.ctx(tn.org.ID), tn.owner.caller(tn.org.ID)

	_, err := e.svc.UpdateMemberRole(ctx, c, tn.org.ID, v.id, member)
	wantErr(t, err, orgs.ErrUnavailable)
	if e.role(t, tn.org.ID, v.id) != member {
		t.Fatal("role change lost")
	}
	_, err = e.svc.SetProjectRole(ctx, c, tn.project.ID, v.id, viewer)
	wantErr(t, err, orgs.ErrUnavailable)
	wantErr(t, e.svc.RemoveMember(ctx, c, tn.org.ID, v.id), orgs.ErrUnavailable)
	if e.role(t, tn.org.ID, v.id) != none {
		t.Fatal("removal lost")
	}
}
