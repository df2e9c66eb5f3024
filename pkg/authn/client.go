package authn

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/grpc"

	"github.com/agenttrace/agenttrace/pkg/service"
)

// ClientConfig is how a service other than auth reaches auth to resolve its
// callers.
type ClientConfig struct {
	// Addr is the auth service's gRPC address.
	Addr string `env:"AUTH_ADDR" envDefault:"127.0.0.1:9083"`
	// CacheTTL bounds how long an answer is trusted without asking auth
	// again; invalidation notices evict sooner, as they are announced.
	CacheTTL time.Duration `env:"AUTH_CACHE_TTL" envDefault:"10s"`
	// CacheStaleFor bounds how long past CacheTTL a caller auth validated
	// before is still let in while auth cannot answer (its database is
	// down, it is restarting); 0 turns this off. Revocations announced
	// meanwhile still apply at once.
	CacheStaleFor time.Duration `env:"AUTH_CACHE_STALE_FOR" envDefault:"5m"`
}

// Client is the authentication every service but auth installs: a lazy
// connection to auth, a cache in front of it, and the interceptors that use
// the cache and the permission table.
type Client struct {
	conn  *grpc.ClientConn
	cache *Cache
}

// NewClient dials auth (lazily: auth being down fails calls with
// Unavailable, not the start of the service).
func NewClient(cfg ClientConfig) (*Client, error) {
	if cfg.CacheTTL < 0 {
		return nil, fmt.Errorf("AGENTTRACE_AUTH_CACHE_TTL must not be negative, got %v", cfg.CacheTTL)
	}
	if cfg.CacheStaleFor < 0 {
		return nil, fmt.Errorf("AGENTTRACE_AUTH_CACHE_STALE_FOR must not be negative, got %v", cfg.CacheStaleFor)
	}
	conn, err := service.Dial(cfg.Addr)
	if err != nil {
		return nil, err
	}
	cache := NewCache(NewRemote(conn), cfg.CacheTTL)
	cache.SetStaleFor(cfg.CacheStaleFor)
	return &Client{conn: conn, cache: cache}, nil
}

// Interceptors is the shell option that authenticates and authorizes every
// call.
func (c *Client) Interceptors() service.Option {
	return service.WithInterceptors(UnaryServerInterceptor(c.cache), StreamServerInterceptor(c.cache))
}

// Authenticator is the cached authenticator behind the interceptors.
func (c *Client) Authenticator() Authenticator { return c.cache }

// FollowRevocations evicts cached answers as auth announces invalidations
// on nc (revoked keys, removed members, changed roles).
func (c *Client) FollowRevocations(nc *nats.Conn) error {
	_, err := SubscribeInvalidations(nc, c.cache)
	return err
}

// Close closes the connection to auth; it fits Shell.OnClose.
func (c *Client) Close(context.Context) error { return c.conn.Close() }
