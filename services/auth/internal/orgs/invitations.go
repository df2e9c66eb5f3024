package orgs

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/services/auth/internal/audit"
	"github.com/agenttrace/agenttrace/services/auth/internal/identity"
)

// CreatedInvitation is an invitation with its token, which exists only in
// the answer to the call that created it.
type CreatedInvitation struct {
	Invitation identity.Invitation
	Token      string
}

// CreateInvitation invites email into orgID (the caller's organization when
// Nil) with role.
func (s *Service) CreateInvitation(ctx context.Context, c Caller, orgID uuid.UUID, email string, role authv1.Role) (CreatedInvitation, error) {
	if err := requireUser(c); err != nil {
		return CreatedInvitation{}, err
	}
	orgID, err := targetOrg(c, orgID)
	if err != nil {
		return CreatedInvitation{}, err
	}
	email, err = CleanEmail("email", email)
	if err != nil {
		return CreatedInvitation{}, err
	}
	if err := requireRole("role", role); err != nil {
		return CreatedInvitation{}, err
	}
	token, hash, err := identity.NewInvitationToken()
	if err != nil {
		return CreatedInvitation{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return CreatedInvitation{}, fmt.Errorf("invitation id: %w", err)
	}
	var inv identity.Invitation
	err = s.store.InTx(ctx, func(tx Tx) error {
		actor, err := lockedActorRole(ctx, tx, orgID, c.UserID, orgNotFound(orgID))
		if err != nil {
			return err
		}
		if err := checkInvite(actor, role); err != nil {
			return err
		}
		switch member, err := tx.HasMemberWithEmail(ctx, orgID, email); {
		case err != nil:
			return err
		case member:
			return fmt.Errorf("%s is a member already: %w", email, ErrAlreadyExists)
		}
		inviter := c.UserID
		now := s.now()
		inv, err = tx.CreateInvitation(ctx, identity.Invitation{
			ID: id, OrganizationID: orgID, Email: email, Role: role,
			InvitedByUserID: &inviter, ExpiresAt: now.Add(s.invitationTTL),
		}, hash)
		if err != nil {
			return err
		}
		return tx.Record(ctx, audit.Entry{
			OrganizationID: orgID, Action: audit.ActionInvitationCreate,
			TargetKind: "invitation", TargetID: inv.ID.String(),
			Details: map[string]string{
				"email":      inv.Email,
				"role":       identity.RoleName(inv.Role),
				"expires_at": inv.ExpiresAt.UTC().Format(time.RFC3339),
			},
		})
	})
	if err != nil {
		return CreatedInvitation{}, err
	}
	return CreatedInvitation{Invitation: inv, Token: token}, nil
}

// ListInvitations lists the invitations of orgID (the caller's organization
// when Nil) in every state; any member may, as any member may list the
// members (the permission table grants both with MEMBERS_READ).
func (s *Service) ListInvitations(ctx context.Context, c Caller, orgID uuid.UUID) ([]identity.Invitation, error) {
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
	return s.store.ListInvitations(ctx, orgID)
}

// RevokeInvitation revokes an open invitation. Revoking a revoked one
// returns it unchanged; an accepted one cannot be revoked.
func (s *Service) RevokeInvitation(ctx context.Context, c Caller, invitationID uuid.UUID) (identity.Invitation, error) {
	if err := requireUser(c); err != nil {
		return identity.Invitation{}, err
	}
	if invitationID == uuid.Nil {
		return identity.Invitation{}, invalid("invitation_id", "required")
	}
	notFound := fmt.Errorf("invitation %s: %w", invitationID, ErrNotFound)
	orgID, err := s.store.InvitationOrganization(ctx, invitationID)
	if err != nil {
		return identity.Invitation{}, hide(err, notFound)
	}
	var inv identity.Invitation
	err = s.store.InTx(ctx, func(tx Tx) error {
		actor, err := lockedActorRole(ctx, tx, orgID, c.UserID, notFound)
		if err != nil {
			return err
		}
		if err := canManage(actor); err != nil {
			return err
		}
		if inv, err = tx.LockInvitation(ctx, orgID, invitationID); err != nil {
			return hide(err, notFound)
		}
		switch {
		case inv.AcceptedAt != nil:
			return ErrInvitationAccepted
		case inv.RevokedAt != nil:
			return nil
		}
		if inv, err = tx.RevokeInvitation(ctx, orgID, invitationID, s.now()); err != nil {
			return err
		}
		return tx.Record(ctx, audit.Entry{
			OrganizationID: orgID, Action: audit.ActionInvitationRevoke,
			TargetKind: "invitation", TargetID: inv.ID.String(),
			Details: map[string]string{"email": inv.Email, "role": identity.RoleName(inv.Role)},
		})
	})
	if err != nil {
		return identity.Invitation{}, err
	}
	return inv, nil
}

// AcceptInvitation makes the calling user a member of the invitation's
// organization. The invitation must be open (not expired, revoked or
// accepted) and issued to the user's email address.
func (s *Service) AcceptInvitation(ctx context.Context, c Caller, token string) (identity.Membership, error) {
	if err := requireUser(c); err != nil {
		return identity.Membership{}, err
	}
	if !WellFormedInvitationToken(token) {
		return identity.Membership{}, invalid("token", "must be an invitation token (inv-at-...)")
	}
	var m identity.Membership
	err := s.store.InTx(ctx, func(tx Tx) error {
		// The address is read from the database rather than taken from the
		// access token, which may have been issued before it changed.
		email, err := tx.UserEmail(ctx, c.UserID)
		if err != nil {
			return err
		}
		inv, mem, err := tx.AcceptInvitation(ctx, identity.HashToken(token), c.UserID, email, s.now())
		if err != nil {
			return err
		}
		m = mem
		if err := tx.Record(ctx, audit.Entry{
			OrganizationID: inv.OrganizationID, Action: audit.ActionInvitationAccept,
			TargetKind: "invitation", TargetID: inv.ID.String(),
			Details: map[string]string{"email": inv.Email, "role": identity.RoleName(inv.Role)},
		}); err != nil {
			return err
		}
		return tx.Record(ctx, memberEntry(audit.ActionMemberAdd, inv.OrganizationID, c.UserID, inv.Role))
	})
	if err != nil {
		return identity.Membership{}, err
	}
	return m, nil
}

// invitationTokenLen is the prefix and 43 characters of base64url (32 bytes).
var invitationTokenLen = len(identity.InvitationTokenPrefix) + 43

// WellFormedInvitationToken reports whether s has the shape of an
// invitation token, so that garbage is refused before it is hashed and
// looked up.
func WellFormedInvitationToken(s string) bool {
	if len(s) != invitationTokenLen || !strings.HasPrefix(s, identity.InvitationTokenPrefix) {
		return false
	}
	for _, r := range s[len(identity.InvitationTokenPrefix):] {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
