package authn

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"
)

// Cache remembers validations (valid and invalid) for a short TTL so that a
// hot path does not ask auth on every call. Evict drops a key at once; the
// revocation subscriber calls it when auth announces a revocation.
type Cache struct {
	next     Validator
	ttl      time.Duration
	negTTL   time.Duration
	now      func() time.Time
	mu       sync.Mutex
	entries  map[[32]byte]cacheEntry
	maxItems int
}

type cacheEntry struct {
	p       Principal
	invalid bool
	expires time.Time
}

// NewCache wraps next. ttl bounds how long a valid key is trusted without
// asking again; invalid answers are kept for a fifth of that.
func NewCache(next Validator, ttl time.Duration) *Cache {
	return &Cache{next: next, ttl: ttl, negTTL: ttl / 5, now: time.Now, entries: map[[32]byte]cacheEntry{}, maxItems: 100_000}
}

func cacheKey(c Credentials) [32]byte {
	return sha256.Sum256([]byte(c.PublicKey + "\x00" + c.SecretKey))
}

// Validate answers from the cache or asks next.
func (c *Cache) Validate(ctx context.Context, cr Credentials) (Principal, error) {
	k := cacheKey(cr)
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[k]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		if e.invalid {
			return Principal{}, ErrInvalidKey
		}
		return e.p, nil
	}
	p, err := c.next.Validate(ctx, cr)
	switch {
	case err == nil:
		c.put(k, cacheEntry{p: p, expires: now.Add(c.ttl)})
	case err == ErrInvalidKey:
		c.put(k, cacheEntry{invalid: true, expires: now.Add(c.negTTL)})
	}
	return p, err
}

func (c *Cache) put(k [32]byte, e cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.maxItems {
		clear(c.entries) // crude but bounded; a full cache is refilled from auth
	}
	c.entries[k] = e
}

// Evict forgets every cached validation of the key with this public key, or
// every entry when publicKey is empty.
func (c *Cache) Evict(publicKey string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.entries {
		if publicKey == "" || e.p.PublicKey == publicKey {
			delete(c.entries, k)
		}
	}
}
