package orgs_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/google/uuid"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"

	"github.com/agenttrace/agenttrace/services/auth/internal/identity"
	"github.com/agenttrace/agenttrace/services/auth/internal/orgs"
)

func TestInvitationLifecycle(t *testing.T) {
	e := newEnv(t)
	tn := e.newTenant(t)
	ad := e.addMember(t, tn, admin)
	actx, ac := ad.ctx(tn.org.ID), ad.caller(tn.org.ID)
	invitee := e.newUser(t)

	ci, err := e.svc.CreateInvitation(actx, ac, uuid.Nil, "  "+invitee.email+" ", member)
	if err != nil {
		t.Fatal(err)
	}
	inv := ci.Invitation
	if !orgs.WellFormedInvitationToken(ci.Token) || inv.Email != invitee.email || inv.Role != member ||
		inv.OrganizationID != tn.org.ID || inv.InvitedByUserID == nil || *inv.InvitedByUserID != ad.id ||
		!inv.ExpiresAt.Equal(e.clock.Now().Add(ttl)) {
		t.Fatalf("created %+v (token %d chars)", inv, len(ci.Token))
	}
	// Only the token's digest is stored.
	var stored []byte
	if err := e.pool.QueryRow(context.Background(), `SELECT token_hash FROM invitations WHERE id = $1`, inv.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256([]byte(ci.Token)); !bytes.Equal(stored, sum[:]) {
		t.Fatal("stored token hash is not SHA-256 of the token")
	}
	a := e.lastAudit(t, tn.org.ID)
	if a.action != "invitation.create" || a.details["email"] != invitee.email || a.details["role"] != "MEMBER" || a.actorID != ad.id.String() {
		t.Fatalf("audit = %+v", a)
	}
	for _, r := range e.audits(t, tn.org.ID) {
		for _, v := range r.details {
			if v == ci.Token {
				t.Fatal("token in the audit log")
			}
		}
	}

	list, err := e.svc.ListInvitations(actx, ac, tn.org.ID)
	if err != nil || len(list) != 1 || list[0].ID != inv.ID {
		t.Fatalf("ListInvitations = %+v, %v", list, err)
	}

	m, err := e.svc.AcceptInvitation(invitee.ctx(uuid.Nil), invitee.caller(uuid.Nil), ci.Token)
	if err != nil {
		t.Fatal(err)
	}
	if m.OrganizationID != tn.org.ID || m.Role != member || m.OrganizationName != tn.org.Name || e.role(t, tn.org.ID, invitee.id) != member {
		t.Fatalf("membership %+v", m)
	}
	got := e.audits(t, tn.org.ID)
	accept, add := got[len(got)-2], got[len(got)-1]
	if accept.action != "invitation.accept" || accept.actorID != invitee.id.String() || accept.targetID != inv.ID.String() ||
		add.action != "member.add" || add.targetID != invitee.id.String() || add.details["role"] != "MEMBER" {
		t.Fatalf("audit = %+v, %+v", accept, add)
	}

	// Used up: neither accepted again nor revoked.
	_, err = e.svc.AcceptInvitation(invitee.ctx(uuid.Nil), invitee.caller(uuid.Nil), ci.Token)
	wantErr(t, err, identity.ErrInvitationUsed)
	_, err = e.svc.RevokeInvitation(actx, ac, inv.ID)
	wantErr(t, err, orgs.ErrInvitationAccepted)
	// And the invitee is a member now, so a second invitation is refused.
	_, err = e.svc.CreateInvitation(actx, ac, tn.org.ID, invitee.email, viewer)
	wantErr(t, err, orgs.ErrAlreadyExists)
}

func TestRevokeInvitation(t *testing.T) {
	e := newEnv(t)
	tn := e.newTenant(t)
	ctx, c := tn.owner.ctx(tn.org.ID), tn.owner.caller(tn.org.ID)
	invitee := e.newUser(t)
	ci, err := e.svc.CreateInvitation(ctx, c, tn.org.ID, invitee.email, admin)
	if err != nil {
		t.Fatal(err)
	}
	before := len(e.audits(t, tn.org.ID))
	inv, err := e.svc.RevokeInvitation(ctx, c, ci.Invitation.ID)
	if err != nil || inv.RevokedAt == nil {
		t.Fatalf("RevokeInvitation = %+v, %v", inv, err)
	}
	// Revoking again returns the same invitation and records nothing new.
	again, err := e.svc.RevokeInvitation(ctx, c, ci.Invitation.ID)
	if err != nil || again.RevokedAt == nil || !again.RevokedAt.Equal(*inv.RevokedAt) {
		t.Fatalf("second revoke = %+v, %v", again, err)
	}
	got := e.audits(t, tn.org.ID)
	if len(got) != before+1 || got[len(got)-1].action != "invitation.revoke" {
		t.Fatalf("audit = %+v", got[before:])
	}
	_, err = e.svc.AcceptInvitation(invitee.ctx(uuid.Nil), invitee.caller(uuid.Nil), ci.Token)
	wantErr(t, err, identity.ErrInvitationRevoked)
	if e.role(t, tn.org.ID, invitee.id) != none {
		t.Fatal("revoked invitation admitted")
	}

	// Members below ADMIN may not revoke.
	v := e.addMember(t, tn, viewer)
	other, err := e.svc.CreateInvitation(ctx, c, tn.org.ID, "someone@example.com", viewer)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.RevokeInvitation(v.ctx(tn.org.ID), v.caller(tn.org.ID), other.Invitation.ID)
	wantErr(t, err, orgs.ErrPermissionDenied)
	_, err = e.svc.RevokeInvitation(ctx, c, uuid.Nil)
	wantErr(t, err, orgs.ErrInvalidArgument)
	_, err = e.svc.RevokeInvitation(ctx, c, uuid.New())
	wantErr(t, err, orgs.ErrNotFound)
}

func TestAcceptInvitationRefusals(t *testing.T) {
	e := newEnv(t)
	tn := e.newTenant(t)
	ctx, c := tn.owner.ctx(tn.org.ID), tn.owner.caller(tn.org.ID)
	invitee := e.newUser(t)

	t.Run("expired", func(t *testing.T) {
		ci, err := e.svc.CreateInvitation(ctx, c, tn.org.ID, invitee.email, viewer)
		if err != nil {
			t.Fatal(err)
		}
		e.clock.add(ttl + time.Second)
		defer e.clock.add(-ttl - time.Second)
		_, err = e.svc.AcceptInvitation(invitee.ctx(uuid.Nil), invitee.caller(uuid.Nil), ci.Token)
		wantErr(t, err, identity.ErrInvitationExpired)
	})
	t.Run("other email", func(t *testing.T) {
		ci, err := e.svc.CreateInvitation(ctx, c, tn.org.ID, "not-"+invitee.email, viewer)
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.AcceptInvitation(invitee.ctx(uuid.Nil), invitee.caller(uuid.Nil), ci.Token)
		wantErr(t, err, identity.ErrInvitationForOther)
	})
	t.Run("unknown token", func(t *testing.T) {
		token, _, err := identity.NewInvitationToken()
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.AcceptInvitation(invitee.ctx(uuid.Nil), invitee.caller(uuid.Nil), token)
		wantErr(t, err, identity.ErrInvitationUnknown)
	})
	t.Run("malformed token", func(t *testing.T) {
		_, err := e.svc.AcceptInvitation(invitee.ctx(uuid.Nil), invitee.caller(uuid.Nil), "inv-at-short")
		wantErr(t, err, orgs.ErrInvalidArgument)
	})
	if e.role(t, tn.org.ID, invitee.id) != none {
		t.Fatal("a refused invitation admitted")
	}
	for _, a := range e.audits(t, tn.org.ID) {
		if a.action == "invitation.accept" {
			t.Fatal("a refused acceptance was audited")
		}
	}
}

func TestCreateInvitationRules(t *testing.T) {
	e := newEnv(t)
	tn := e.newTenant(t)
	ad := e.addMember(t, tn, admin)
	m := e.addMember(t, tn, member)
	tests := []struct {
		name  string
		actor user
		email string
		role  authv1.Role
		want  error
	}{
		{"owner invites an owner", tn.owner, "o@example.com", owner, nil},
		{"admin invites an admin", ad, "a@example.com", admin, nil},
		{"admin cannot invite an owner", ad, "o2@example.com", owner, orgs.ErrPermissionDenied},
		{"member cannot invite", m, "v@example.com", viewer, orgs.ErrPermissionDenied},
		{"role required", tn.owner, "r@example.com", none, orgs.ErrInvalidArgument},
		{"email required", tn.owner, "", viewer, orgs.ErrInvalidArgument},
		{"email malformed", tn.owner, "Bob <bob@example.com>", viewer, orgs.ErrInvalidArgument},
		{"member already", tn.owner, ad.email, viewer, orgs.ErrAlreadyExists},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.CreateInvitation(tt.actor.ctx(tn.org.ID), tt.actor.caller(tn.org.ID), tn.org.ID, tt.email, tt.role)
			wantErr(t, err, tt.want)
		})
	}
	// Any member may list invitations, as the permission table says.
	if list, err := e.svc.ListInvitations(m.ctx(tn.org.ID), m.caller(tn.org.ID), uuid.Nil); err != nil || len(list) != 2 {
		t.Fatalf("ListInvitations = %d, %v", len(list), err)
	}
}
