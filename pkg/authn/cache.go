package authn

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"time"
)

// defaultMaxEntries bounds the cache; far more keys than one installation
// has callers at once.
const defaultMaxEntries = 100_000

// Cache remembers validations (valid and invalid) for a short TTL so that a
// hot path does not ask auth on every call. Evict drops a key at once; the
// revocation subscriber calls it when auth announces a revocation.
type Cache struct {
	next     Validator
	ttl      time.Duration
	negTTL   time.Duration
	now      func() time.Time
	maxItems int

	mu      sync.Mutex
	entries map[[32]byte]cacheEntry
	// gen counts evictions. A validation that was in flight while an
	// eviction happened may carry an answer from before the revocation, so
	// it is returned to its caller but not cached.
	gen uint64
}

type cacheEntry struct {
	p       Principal
	invalid bool
	expires time.Time
}

// NewCache wraps next. ttl bounds how long a valid key is trusted without
// asking again; invalid answers are kept for a fifth of that, so that a key
// created a moment ago is not refused for long.
func NewCache(next Validator, ttl time.Duration) *Cache {
	return &Cache{
		next:     next,
		ttl:      ttl,
		negTTL:   ttl / 5,
		now:      time.Now,
		maxItems: defaultMaxEntries,
		entries:  map[[32]byte]cacheEntry{},
	}
}

// cacheKey covers both halves, so that a right secret with a wrong public
// key is its own (invalid) entry. Hashing keeps secrets out of the heap.
func cacheKey(c Credentials) [32]byte {
	return sha256.Sum256([]byte(c.PublicKey + "\x00" + c.SecretKey))
}

// Validate answers from the cache or asks next. Errors other than
// ErrInvalidKey (auth unreachable, ...) are never cached.
func (c *Cache) Validate(ctx context.Context, cr Credentials) (Principal, error) {
	k := cacheKey(cr)
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[k]
	gen := c.gen
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
		c.put(k, gen, cacheEntry{p: p, expires: now.Add(c.ttl)})
	case errors.Is(err, ErrInvalidKey):
		c.put(k, gen, cacheEntry{invalid: true, expires: now.Add(c.negTTL)})
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

// Evict forgets every cached validation of the key with this public key, or
// every entry when publicKey is empty. Validations in flight when it is
// called are not cached.
func (c *Cache) Evict(publicKey string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if publicKey == "" {
		clear(c.entries)
		return
	}
	for k, e := range c.entries {
		if e.p.PublicKey == publicKey {
			delete(c.entries, k)
		}
	}
}
