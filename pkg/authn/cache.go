package authn

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"time"
)

// defaultMaxEntries bounds the cache; far more callers than one
// installation has at once.
const defaultMaxEntries = 100_000

// Cache remembers answers (principals, and refusals) for a short TTL so that
// a hot path does not ask auth on every call. Evict drops entries at once;
// the invalidation subscriber calls it when auth announces a change.
type Cache struct {
	next     Authenticator
	ttl      time.Duration
	negTTL   time.Duration
	now      func() time.Time
	maxItems int

	mu      sync.Mutex
	entries map[[32]byte]cacheEntry
	// gen counts evictions. An answer that was in flight while an eviction
	// happened may predate the change, so it is returned to its caller but
	// not cached.
	gen uint64
}

type cacheEntry struct {
	p       Principal
	err     error // a refusal: ErrNoCredentials, ErrInvalidCredentials or ErrNoAccess
	expires time.Time
}

// NewCache wraps next. ttl bounds how long an answer is trusted without
// asking again; refusals are kept for a fifth of that, so that a key created
// or a member added a moment ago is not refused for long.
func NewCache(next Authenticator, ttl time.Duration) *Cache {
	return &Cache{
		next:     next,
		ttl:      ttl,
		negTTL:   ttl / 5,
		now:      time.Now,
		maxItems: defaultMaxEntries,
		entries:  map[[32]byte]cacheEntry{},
	}
}

// cacheKey covers everything the answer depends on. Hashing keeps secrets
// and tokens out of the heap.
func cacheKey(r Request) [32]byte {
	role := "0"
	if r.OrganizationRole {
		role = "1"
	}
	if r.DefaultOrganization {
		role += "d"
	}
	return sha256.Sum256([]byte(r.Authorization + "\x00" + r.ProjectID + "\x00" + r.OrganizationID + "\x00" + role))
}

// refusal reports whether err is a definite answer about the credentials,
// which may be cached, as opposed to a failure to answer.
func refusal(err error) error {
	for _, e := range []error{ErrNoCredentials, ErrInvalidCredentials, ErrNoAccess} {
		if errors.Is(err, e) {
			return e
		}
	}
	return nil
}

// Authenticate answers from the cache or asks next. Failures to answer
// (auth unreachable, ...) are never cached.
func (c *Cache) Authenticate(ctx context.Context, r Request) (Principal, error) {
	k := cacheKey(r)
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[k]
	gen := c.gen
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.p, e.err
	}
	p, err := c.next.Authenticate(ctx, r)
	switch ref := refusal(err); {
	case err == nil:
		c.put(k, gen, cacheEntry{p: p, expires: now.Add(c.ttl)})
	case ref != nil:
		c.put(k, gen, cacheEntry{err: ref, expires: now.Add(c.negTTL)})
	}
	return p, err
}

func (c *Cache) put(k [32]byte, gen uint64, e cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.entries) >= c.maxItems {
		c.dropExpired()
		if len(c.entries) >= c.maxItems {
			clear(c.entries) // crude but bounded; a full cache is refilled from auth
		}
	}
	c.entries[k] = e
}

// dropExpired removes stale entries; called with mu held.
func (c *Cache) dropExpired() {
	now := c.now()
	for k, e := range c.entries {
		if !now.Before(e.expires) {
			delete(c.entries, k)
		}
	}
}

// Evict forgets every cached answer that n concerns. Answers in flight when
// it is called are not cached. Refusals are kept unless n.All: a change that
// takes access away cannot turn a refusal into access.
func (c *Cache) Evict(n Notice) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if n.All {
		clear(c.entries)
		return
	}
	for k, e := range c.entries {
		if e.err == nil && n.matches(e.p) {
			delete(c.entries, k)
		}
	}
}
