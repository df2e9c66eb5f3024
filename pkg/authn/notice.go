package authn

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/nats-io/nats.go"
)

// InvalidateSubject carries invalidation notices: auth publishes one when a
// key is revoked, a member removed or their role changed, a project role
// override set or an organization deleted, so that every replica of every
// service drops the cached answers it concerns at once rather than at
// expiry.
const InvalidateSubject = "agenttrace.auth.invalidate"

// Notice says which cached answers are stale: every answer whose principal
// matches any non-empty field, or every answer when All is set. On the wire
// it is JSON, e.g. {"public_key":"pk-at-..."} or {"user_id":"...",
// "organization_id":"..."}.
//
// The fields are alternatives, not a conjunction: a notice naming a user and
// an organization evicts all of the user's answers and all of the
// organization's. Over-evicting costs one call to auth; under-evicting would
// honour a removed member.
type Notice struct {
	PublicKey      string `json:"public_key,omitempty"`
	KeyID          string `json:"key_id,omitempty"`
	UserID         string `json:"user_id,omitempty"`
	OrganizationID string `json:"organization_id,omitempty"`
	All            bool   `json:"all,omitempty"`
}

// errEmptyNotice: a notice that names nothing would evict nothing, which is
// never what its sender meant.
var errEmptyNotice = errors.New("invalidation notice names nothing")

func (n Notice) empty() bool { return n == Notice{} }

// DecodeNotice reads a notice from the wire. Unknown fields are ignored, so
// that a newer auth can add some; a notice naming nothing is an error.
func DecodeNotice(b []byte) (Notice, error) {
	var n Notice
	if err := json.Unmarshal(b, &n); err != nil {
		return Notice{}, fmt.Errorf("decode invalidation notice: %w", err)
	}
	if n.empty() {
		return Notice{}, errEmptyNotice
	}
	return n, nil
}

// PublishInvalidation announces n on nc and waits until the server has it.
func PublishInvalidation(nc *nats.Conn, n Notice) error {
	if n.empty() {
		return fmt.Errorf("publish invalidation: %w", errEmptyNotice)
	}
	b, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("publish invalidation: %w", err)
	}
	if err := nc.Publish(InvalidateSubject, b); err != nil {
		return fmt.Errorf("publish invalidation: %w", err)
	}
	if err := nc.Flush(); err != nil {
		return fmt.Errorf("publish invalidation: %w", err)
	}
	return nil
}

// SubscribeInvalidations evicts from c what notices on nc name. A notice it
// cannot read clears the whole cache: it meant to evict something. After a
// reconnect it clears the whole cache too, since notices may have been
// missed while disconnected.
func SubscribeInvalidations(nc *nats.Conn, c *Cache) (*nats.Subscription, error) {
	sub, err := nc.Subscribe(InvalidateSubject, func(m *nats.Msg) { c.evictNotice(m.Data) })
	if err != nil {
		return nil, fmt.Errorf("subscribe invalidations: %w", err)
	}
	prev := nc.Opts.ReconnectedCB
	nc.SetReconnectHandler(func(conn *nats.Conn) {
		c.Evict(Notice{All: true})
		if prev != nil {
			prev(conn)
		}
	})
	return sub, nil
}

// evictNotice evicts what the notice in b names, or everything when b cannot
// be read.
func (c *Cache) evictNotice(b []byte) {
	n, err := DecodeNotice(b)
	if err != nil {
		slog.Warn("unreadable invalidation notice; clearing the credentials cache", "err", err)
		n = Notice{All: true}
	}
	c.Evict(n)
}
