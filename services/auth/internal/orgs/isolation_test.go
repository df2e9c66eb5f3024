package orgs_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/agenttrace/agenttrace/services/auth/internal/orgs"
)

// Every call of a user of organization B aimed at organization A, its
// members, project or invitation — named explicitly or guessed — is
// NotFound, reads exactly like an id that exists nowhere, and changes
// nothing in A.
func TestCrossOrganizationIsolation(t *testing.T) {
	e := newEnv(t)
	a := e.newTenant(t)
	aMember := e.addMember(t, a, member)
	if _, err := e.svc.SetProjectRole(a.owner.ctx(a.org.ID), a.owner.caller(a.org.ID), a.project.ID, aMember.id, viewer); err != nil {
		t.Fatal(err)
	}
	aInv, err := e.svc.CreateInvitation(a.owner.ctx(a.org.ID), a.owner.caller(a.org.ID), a.org.ID, "guest@example.com", viewer)
	if err != nil {
		t.Fatal(err)
	}
	b := e.newTenant(t) // b.owner is OWNER of B: the strongest outsider
	ctx, c := b.owner.ctx(b.org.ID), b.owner.caller(b.org.ID)
	auditsBefore := len(e.audits(t, a.org.ID))
	membersBefore, err := e.svc.ListMembers(a.owner.ctx(a.org.ID), a.owner.caller(a.org.ID), a.org.ID)
	if err != nil {
		t.Fatal(err)
	}

	// Each call runs with the real id of A's object and with a random id;
	// both must give the same error, id aside.
	calls := map[string]func(target uuid.UUID) error{
		"ListMembers":     func(org uuid.UUID) error { _, err := e.svc.ListMembers(ctx, c, org); return err },
		"ListInvitations": func(org uuid.UUID) error { _, err := e.svc.ListInvitations(ctx, c, org); return err },
		"UpdateMemberRole": func(org uuid.UUID) error {
			_, err := e.svc.UpdateMemberRole(ctx, c, org, aMember.id, admin)
			return err
		},
		"UpdateMemberRole of the owner": func(org uuid.UUID) error {
			_, err := e.svc.UpdateMemberRole(ctx, c, org, a.owner.id, viewer)
			return err
		},
		"RemoveMember":              func(org uuid.UUID) error { return e.svc.RemoveMember(ctx, c, org, aMember.id) },
		"RemoveMember of the owner": func(org uuid.UUID) error { return e.svc.RemoveMember(ctx, c, org, a.owner.id) },
		"CreateInvitation": func(org uuid.UUID) error {
			_, err := e.svc.CreateInvitation(ctx, c, org, "intruder@example.com", owner)
			return err
		},
		"SetProjectRole": func(project uuid.UUID) error {
			_, err := e.svc.SetProjectRole(ctx, c, project, aMember.id, admin)
			return err
		},
		"SetProjectRole for B's owner": func(project uuid.UUID) error {
			_, err := e.svc.SetProjectRole(ctx, c, project, b.owner.id, owner)
			return err
		},
		"RevokeInvitation": func(inv uuid.UUID) error { _, err := e.svc.RevokeInvitation(ctx, c, inv); return err },
	}
	realID := map[string]uuid.UUID{
		"SetProjectRole": a.project.ID, "SetProjectRole for B's owner": a.project.ID,
		"RevokeInvitation": aInv.Invitation.ID,
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			id, ok := realID[name]
			if !ok {
				id = a.org.ID
			}
			random := uuid.New()
			errReal, errRandom := call(id), call(random)
			if !errors.Is(errReal, orgs.ErrNotFound) || !errors.Is(errRandom, orgs.ErrNotFound) {
				t.Fatalf("errors %v / %v, want NotFound", errReal, errRandom)
			}
			if got, want := strings.ReplaceAll(errReal.Error(), id.String(), "ID"), strings.ReplaceAll(errRandom.Error(), random.String(), "ID"); got != want {
				t.Fatalf("the error tells A's object from nothing: %q vs %q", got, want)
			}
		})
	}

	// Guessed user ids of A in B's own organization (the default) find nothing.
	t.Run("A's users through B", func(t *testing.T) {
		_, err := e.svc.UpdateMemberRole(ctx, c, uuid.Nil, aMember.id, admin)
		if !errors.Is(err, orgs.ErrNotFound) {
			t.Fatalf("UpdateMemberRole = %v", err)
		}
		if err := e.svc.RemoveMember(ctx, c, uuid.Nil, a.owner.id); !errors.Is(err, orgs.ErrNotFound) {
			t.Fatalf("RemoveMember = %v", err)
		}
		if _, err := e.svc.SetProjectRole(ctx, c, b.project.ID, aMember.id, admin); !errors.Is(err, orgs.ErrNotFound) {
			t.Fatalf("SetProjectRole = %v", err)
		}
	})
	// A's invitation token is A's invitee's alone; B's owner (another
	// address) cannot use it to get in.
	t.Run("A's invitation token", func(t *testing.T) {
		if _, err := e.svc.AcceptInvitation(ctx, c, aInv.Token); err == nil {
			t.Fatal("accepted another address's invitation")
		}
	})
	// B's lists show nothing of A.
	t.Run("B's lists", func(t *testing.T) {
		ms, err := e.svc.ListMembers(ctx, c, uuid.Nil)
		if err != nil || len(ms) != 1 || ms[0].UserID != b.owner.id {
			t.Fatalf("B's members = %+v, %v", ms, err)
		}
		invs, err := e.svc.ListInvitations(ctx, c, uuid.Nil)
		if err != nil || len(invs) != 0 {
			t.Fatalf("B's invitations = %+v, %v", invs, err)
		}
		os, err := e.svc.ListOrganizations(ctx, c)
		if err != nil || len(os) != 1 || os[0].ID != b.org.ID {
			t.Fatalf("B's organizations = %+v, %v", os, err)
		}
	})

	// Nothing of A changed.
	membersAfter, err := e.svc.ListMembers(a.owner.ctx(a.org.ID), a.owner.caller(a.org.ID), a.org.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(membersAfter) != len(membersBefore) {
		t.Fatalf("A's members changed: %+v", membersAfter)
	}
	for i := range membersAfter {
		m, w := membersAfter[i], membersBefore[i]
		if m.UserID != w.UserID || m.Role != w.Role || len(m.ProjectRoles) != len(w.ProjectRoles) || m.ProjectRoles[a.project.ID] != w.ProjectRoles[a.project.ID] {
			t.Fatalf("A's member changed: %+v, was %+v", m, w)
		}
	}
	invs, err := e.svc.ListInvitations(a.owner.ctx(a.org.ID), a.owner.caller(a.org.ID), a.org.ID)
	if err != nil || len(invs) != 1 || invs[0].RevokedAt != nil {
		t.Fatalf("A's invitations = %+v, %v", invs, err)
	}
	if n := len(e.audits(t, a.org.ID)); n != auditsBefore {
		t.Fatalf("%d audit events in A, had %d", n, auditsBefore)
	}
	var stray int
	if err := e.pool.QueryRow(context.Background(),
		`SELECT count(*) FROM invitations WHERE organization_id = $1 AND email = 'intruder@example.com'`, a.org.ID).Scan(&stray); err != nil || stray != 0 {
		t.Fatalf("%d invitations created in A (%v)", stray, err)
	}
}
