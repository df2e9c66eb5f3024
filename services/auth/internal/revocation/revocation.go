// Package revocation announces that cached authentications are stale: a
// key revoked, a member removed or their role changed, an organization
// deleted. Each notice goes to this replica's own cache directly and to
// every other service over NATS (authn.InvalidateSubject), so that the
// change takes effect everywhere at once instead of at cache expiry.
package revocation

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/agenttrace/agenttrace/pkg/authn"
)

// Announcer implements tenancy.Announcer and orgs.Invalidator.
type Announcer struct {
	nc         *nats.Conn
	evictLocal func(authn.Notice)
}

// NewAnnouncer publishes on nc and calls evictLocal (typically the local
// authn.Cache's Evict; nil for none) first.
func NewAnnouncer(nc *nats.Conn, evictLocal func(authn.Notice)) *Announcer {
	return &Announcer{nc: nc, evictLocal: evictLocal}
}

// Invalidate evicts locally first, which needs no network, then publishes;
// a publish failure is returned for the caller to retry.
func (a *Announcer) Invalidate(_ context.Context, n authn.Notice) error {
	if a.evictLocal != nil {
		a.evictLocal(n)
	}
	if err := authn.PublishInvalidation(a.nc, n); err != nil {
		return fmt.Errorf("announce invalidation: %w", err)
	}
	return nil
}

// AnnounceRevocation announces that the key with publicKey no longer works.
func (a *Announcer) AnnounceRevocation(ctx context.Context, publicKey string) error {
	return a.Invalidate(ctx, authn.Notice{PublicKey: publicKey})
}

// InvalidateUser announces that a user's access changed (removed from an
// organization, role changed, project override set).
func (a *Announcer) InvalidateUser(ctx context.Context, userID uuid.UUID) error {
	return a.Invalidate(ctx, authn.Notice{UserID: userID.String()})
}

// InvalidateOrganization announces that nothing cached about an
// organization holds any more (it was deleted).
func (a *Announcer) InvalidateOrganization(ctx context.Context, orgID uuid.UUID) error {
	return a.Invalidate(ctx, authn.Notice{OrganizationID: orgID.String()})
}
