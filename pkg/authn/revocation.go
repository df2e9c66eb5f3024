package authn

import (
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
)

// RevocationSubject carries the public key of every revoked API key, so that
// every replica of every service forgets it at once rather than at cache expiry.
const RevocationSubject = "agenttrace.auth.revoked"

// PublishRevocation announces that the key with publicKey no longer works.
// An empty key is refused: subscribers would read it as "evict everything".
func PublishRevocation(nc *nats.Conn, publicKey string) error {
	if publicKey == "" {
		return errors.New("publish revocation: empty public key")
	}
	if err := nc.Publish(RevocationSubject, []byte(publicKey)); err != nil {
		return fmt.Errorf("publish revocation: %w", err)
	}
	return nc.Flush()
}

// SubscribeRevocations evicts revoked keys from c as they are announced. After
// a reconnect it clears the whole cache, since announcements may have been
// missed while disconnected.
func SubscribeRevocations(nc *nats.Conn, c *Cache) (*nats.Subscription, error) {
	sub, err := nc.Subscribe(RevocationSubject, func(m *nats.Msg) { c.Evict(string(m.Data)) })
	if err != nil {
		return nil, fmt.Errorf("subscribe revocations: %w", err)
	}
	prev := nc.Opts.ReconnectedCB
	nc.SetReconnectHandler(func(conn *nats.Conn) {
		c.Evict("")
		if prev != nil {
			prev(conn)
		}
	})
	return sub, nil
}
