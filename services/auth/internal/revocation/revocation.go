// Package revocation announces revoked API keys: to this replica's own
// validation cache directly, and to every other service over NATS, so that
// a revoked key stops working everywhere at once instead of at cache expiry.
package revocation

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go"

	"github.com/agenttrace/agenttrace/pkg/authn"
)

// Announcer implements tenancy.Announcer.
type Announcer struct {
	nc         *nats.Conn
	evictLocal func(publicKey string)
}

// NewAnnouncer publishes on nc and calls evictLocal (typically the local
// authn.Cache's Evict; nil for none) first.
func NewAnnouncer(nc *nats.Conn, evictLocal func(publicKey string)) *Announcer {
	return &Announcer{nc: nc, evictLocal: evictLocal}
}

// AnnounceRevocation evicts the key locally first, which needs no network,
// then publishes it; a publish failure is returned for the caller to retry.
func (a *Announcer) AnnounceRevocation(_ context.Context, publicKey string) error {
	if a.evictLocal != nil {
		a.evictLocal(publicKey)
	}
	if err := authn.PublishRevocation(a.nc, publicKey); err != nil {
		return fmt.Errorf("announce revocation: %w", err)
	}
	return nil
}
