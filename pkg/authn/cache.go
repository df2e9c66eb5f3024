package authn

import (
	"container/list"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// defaultMaxEntries bounds the cache; far more callers than one
// installation has at once.
const defaultMaxEntries = 100_000

// Defaults of the cache's behaviour while auth cannot answer.
const (
	// DefaultStaleFor bounds how long past its TTL a principal is still
	// served while auth cannot answer (its database is down, it is
	// restarting): an outage of auth does not stop ingest and query for
	// callers it validated before.
	DefaultStaleFor = 5 * time.Minute
	// staleWait is how long a caller with a stale answer waits for auth
	// before it is served the stale answer.
	staleWait = time.Second
	// staleRetry is how long after auth failed to answer a stale answer is
	// served without asking again, so an outage costs one call to auth per
	// key per staleRetry, not one per request.
	staleRetry = time.Second
	// askTimeout bounds one question to auth. It runs detached from the
	// callers who wait for it (they share it), so it needs its own limit.
	askTimeout = 10 * time.Second
)

// Cache remembers answers (principals, and refusals) for a short TTL so that
// a hot path does not ask auth on every call. Evict drops entries at once;
// the invalidation subscriber calls it when auth announces a change.
//
// Concurrent misses for one key ask auth once. While auth cannot answer, a
// principal it granted is served up to staleFor past its TTL (never a
// refusal, and never an answer an invalidation notice evicted). When full,
// the least recently used answer makes room for a new one.
type Cache struct {
	next     Authenticator
	ttl      time.Duration
	negTTL   time.Duration
	staleFor time.Duration
	now      func() time.Time
	maxItems int

	flight singleflight.Group

	mu      sync.Mutex
	entries map[[32]byte]*list.Element // of *cacheEntry
	lru     list.List                  // most recently used first
	// byName finds the principals a notice names (indexNames) without
	// scanning the cache.
	byName map[string]map[[32]byte]struct{}
	// gen counts evictions. An answer that was in flight while an eviction
	// happened may predate the change, so it is returned to its caller but
	// not cached.
	gen uint64
}

type cacheEntry struct {
	key     [32]byte
	p       Principal
	err     error // a refusal: ErrNoCredentials, ErrInvalidCredentials or ErrNoAccess
	expires time.Time
	// retryAt: auth failed to answer about this expired principal; until
	// then it is served stale without asking.
	retryAt time.Time
}

// errAuthTimeout: auth did not answer within askTimeout.
var errAuthTimeout = fmt.Errorf("auth did not answer within %s", askTimeout)

// NewCache wraps next. ttl bounds how long an answer is trusted without
// asking again; refusals are kept for a fifth of that, so that a key created
// or a member added a moment ago is not refused for long. A principal is
// served up to DefaultStaleFor past ttl while auth cannot answer
// (SetStaleFor changes it).
func NewCache(next Authenticator, ttl time.Duration) *Cache {
	return &Cache{
		next:     next,
		ttl:      ttl,
		negTTL:   ttl / 5,
		staleFor: DefaultStaleFor,
		now:      time.Now,
		maxItems: defaultMaxEntries,
		entries:  map[[32]byte]*list.Element{},
		byName:   map[string]map[[32]byte]struct{}{},
	}
}

// SetStaleFor sets how long past its TTL a principal is served while auth
// cannot answer; 0 never serves one stale.
func (c *Cache) SetStaleFor(d time.Duration) { c.staleFor = d }

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
// (auth unreachable, ...) are never cached; during one, a principal that
// expired less than staleFor ago is served instead.
func (c *Cache) Authenticate(ctx context.Context, r Request) (Principal, error) {
	k := cacheKey(r)
	now := c.now()
	e, ok, gen := c.get(k)
	if ok && now.Before(e.expires) {
		return e.p, e.err
	}
	stale := ok && e.err == nil && now.Before(e.expires.Add(c.staleFor))
	if stale && now.Before(e.retryAt) {
		return e.p, nil
	}
	ch := c.flight.DoChan(string(k[:]), func() (any, error) { return c.ask(ctx, k, r, gen, now) })
	var wait <-chan time.Time
	if stale {
		t := time.NewTimer(staleWait)
		defer t.Stop()
		wait = t.C
	}
	select {
	case res := <-ch:
		if res.Err != nil && stale && refusal(res.Err) == nil {
			c.retryLater(k, now.Add(staleRetry))
			return e.p, nil
		}
		p, _ := res.Val.(Principal)
		return p, res.Err
	case <-wait:
		c.retryLater(k, now.Add(staleRetry))
		return e.p, nil
	case <-ctx.Done():
		return Principal{}, ctx.Err()
	}
}

// ask puts one question to auth for every caller waiting on key k, and
// caches its answer. It runs detached from the first caller's
// cancellation, which must not fail the others.
func (c *Cache) ask(ctx context.Context, k [32]byte, r Request, gen uint64, now time.Time) (any, error) {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), askTimeout)
	defer cancel()
	p, err := c.next.Authenticate(actx, r)
	if err != nil && actx.Err() != nil && refusal(err) == nil {
		err = errAuthTimeout // not the callers' deadline: auth's
	}
	switch ref := refusal(err); {
	case err == nil:
		c.put(gen, &cacheEntry{key: k, p: p, expires: now.Add(c.ttl)})
	case ref != nil:
		c.put(gen, &cacheEntry{key: k, err: ref, expires: now.Add(c.negTTL)})
	}
	return p, err
}

// get returns a copy of k's entry and marks it used, with the eviction
// generation a new answer must be cached under.
func (c *Cache) get(k [32]byte) (cacheEntry, bool, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[k]
	if !ok {
		return cacheEntry{}, false, c.gen
	}
	c.lru.MoveToFront(el)
	return *el.Value.(*cacheEntry), true, c.gen
}

func (c *Cache) put(gen uint64, e *cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if el, ok := c.entries[e.key]; ok {
		c.remove(el)
	}
	for len(c.entries) >= c.maxItems && c.lru.Len() > 0 {
		c.remove(c.lru.Back())
	}
	c.entries[e.key] = c.lru.PushFront(e)
	if e.err == nil {
		for _, name := range indexNames(e.p) {
			keys := c.byName[name]
			if keys == nil {
				keys = map[[32]byte]struct{}{}
				c.byName[name] = keys
			}
			keys[e.key] = struct{}{}
		}
	}
}

// indexNames are the names under which notices find a principal: a notice
// evicts every principal that matches any name it gives.
func indexNames(p Principal) []string {
	var names []string
	for _, n := range []struct{ kind, v string }{
		{"pk:", p.PublicKey}, {"key:", p.KeyID}, {"user:", p.UserID}, {"org:", p.OrganizationID},
	} {
		if n.v != "" {
			names = append(names, n.kind+n.v)
		}
	}
	return names
}

// noticeNames are the index names a notice evicts.
func noticeNames(n Notice) []string {
	return indexNames(Principal{PublicKey: n.PublicKey, KeyID: n.KeyID, UserID: n.UserID, OrganizationID: n.OrganizationID})
}

// retryLater serves k's stale principal without asking auth until at.
func (c *Cache) retryLater(k [32]byte, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[k]; ok {
		e := *el.Value.(*cacheEntry)
		e.retryAt = at
		el.Value = &e
	}
}

// remove drops an entry; called with mu held.
func (c *Cache) remove(el *list.Element) {
	e := el.Value.(*cacheEntry)
	delete(c.entries, e.key)
	c.lru.Remove(el)
	if e.err == nil {
		for _, name := range indexNames(e.p) {
			if keys := c.byName[name]; keys != nil {
				delete(keys, e.key)
				if len(keys) == 0 {
					delete(c.byName, name)
				}
			}
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
		clear(c.byName)
		c.lru.Init()
		return
	}
	for _, name := range noticeNames(n) {
		for k := range c.byName[name] {
			c.remove(c.entries[k])
		}
	}
}
