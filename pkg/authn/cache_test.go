package authn

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingValidator answers from a table and counts the questions.
type countingValidator struct {
	mu    sync.Mutex
	keys  map[string]Principal // by secret
	err   error                // returned for every call when set
	calls atomic.Int64
	// during runs inside Validate, before it answers.
	during func()
}

func (v *countingValidator) Validate(_ context.Context, c Credentials) (Principal, error) {
	v.calls.Add(1)
	if v.during != nil {
		v.during()
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.err != nil {
		return Principal{}, v.err
	}
	p, ok := v.keys[c.SecretKey]
	if !ok || (c.PublicKey != "" && c.PublicKey != p.PublicKey) {
		return Principal{}, ErrInvalidKey
	}
	return p, nil
}

func (v *countingValidator) revoke(secret string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.keys, secret)
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newTestCache(v Validator, ttl time.Duration) (*Cache, *fakeClock) {
	clk := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	c := NewCache(v, ttl)
	c.now = clk.Now
	return c, clk
}

var alice = Principal{KeyID: "k1", PublicKey: "pk-alice", ProjectID: "p1", OrganizationID: "o1"}

func TestCacheTTL(t *testing.T) {
	v := &countingValidator{keys: map[string]Principal{"sk-alice": alice}}
	c, clk := newTestCache(v, 10*time.Second)
	ctx := context.Background()
	cr := Credentials{PublicKey: "pk-alice", SecretKey: "sk-alice"}

	steps := []struct {
		advance   time.Duration
		wantCalls int64
	}{
		{0, 1},                      // miss
		{0, 1},                      // hit
		{9 * time.Second, 1},        // still fresh
		{999 * time.Millisecond, 1}, // 9.999s
		{time.Millisecond, 2},       // exactly ttl: expired, asks again
		{time.Second, 2},            // fresh again
	}
	for i, s := range steps {
		clk.Advance(s.advance)
		p, err := c.Validate(ctx, cr)
		if err != nil || !reflect.DeepEqual(p, alice) {
			t.Fatalf("step %d: Validate = %+v, %v", i, p, err)
		}
		if got := v.calls.Load(); got != s.wantCalls {
			t.Fatalf("step %d: validator called %d times, want %d", i, got, s.wantCalls)
		}
	}
}

func TestCacheNegative(t *testing.T) {
	v := &countingValidator{keys: map[string]Principal{}}
	c, clk := newTestCache(v, 10*time.Second)
	ctx := context.Background()
	cr := Credentials{SecretKey: "sk-new"}

	if _, err := c.Validate(ctx, cr); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("unknown key: %v, want ErrInvalidKey", err)
	}
	// The key is created now; the negative answer is kept for ttl/5.
	v.mu.Lock()
	v.keys["sk-new"] = alice
	v.mu.Unlock()
	clk.Advance(1999 * time.Millisecond)
	if _, err := c.Validate(ctx, cr); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("within negative ttl: %v, want cached ErrInvalidKey", err)
	}
	if got := v.calls.Load(); got != 1 {
		t.Fatalf("validator called %d times, want 1", got)
	}
	clk.Advance(time.Millisecond)
	if p, err := c.Validate(ctx, cr); err != nil || !reflect.DeepEqual(p, alice) {
		t.Fatalf("after negative ttl: %+v, %v; want alice", p, err)
	}
}

func TestCacheDoesNotCacheFailures(t *testing.T) {
	boom := errors.New("auth unreachable")
	v := &countingValidator{err: boom}
	c, _ := newTestCache(v, 10*time.Second)
	for range 3 {
		if _, err := c.Validate(context.Background(), Credentials{SecretKey: "sk"}); !errors.Is(err, boom) {
			t.Fatalf("Validate = %v, want %v", err, boom)
		}
	}
	if got := v.calls.Load(); got != 3 {
		t.Fatalf("validator called %d times, want 3 (errors must not be cached)", got)
	}
}

func TestCacheWrappedInvalidIsCached(t *testing.T) {
	v := &countingValidator{err: fmt.Errorf("remote: %w", ErrInvalidKey)}
	c, _ := newTestCache(v, 10*time.Second)
	for range 2 {
		if _, err := c.Validate(context.Background(), Credentials{SecretKey: "sk"}); !errors.Is(err, ErrInvalidKey) {
			t.Fatalf("Validate = %v, want ErrInvalidKey", err)
		}
	}
	if got := v.calls.Load(); got != 1 {
		t.Fatalf("validator called %d times, want 1", got)
	}
}

func TestCachePairIsPartOfTheKey(t *testing.T) {
	v := &countingValidator{keys: map[string]Principal{"sk-alice": alice}}
	c, _ := newTestCache(v, 10*time.Second)
	ctx := context.Background()
	if _, err := c.Validate(ctx, Credentials{PublicKey: "pk-alice", SecretKey: "sk-alice"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Validate(ctx, Credentials{PublicKey: "pk-mallory", SecretKey: "sk-alice"}); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("wrong public key with a cached secret: %v, want ErrInvalidKey", err)
	}
}

func TestCacheEvict(t *testing.T) {
	bob := Principal{KeyID: "k2", PublicKey: "pk-bob", ProjectID: "p1", OrganizationID: "o1"}
	tests := []struct {
		name      string
		evict     string
		wantAlice bool // alice still served from the cache
		wantBob   bool
	}{
		{name: "one key", evict: "pk-alice", wantAlice: false, wantBob: true},
		{name: "unknown key", evict: "pk-nobody", wantAlice: true, wantBob: true},
		{name: "everything", evict: "", wantAlice: false, wantBob: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := &countingValidator{keys: map[string]Principal{"sk-alice": alice, "sk-bob": bob}}
			c, _ := newTestCache(v, time.Hour)
			ctx := context.Background()
			aliceBasic := Credentials{PublicKey: "pk-alice", SecretKey: "sk-alice"}
			aliceBearer := Credentials{SecretKey: "sk-alice"}
			bobBearer := Credentials{SecretKey: "sk-bob"}
			for _, cr := range []Credentials{aliceBasic, aliceBearer, bobBearer} {
				if _, err := c.Validate(ctx, cr); err != nil {
					t.Fatal(err)
				}
			}
			// The key is revoked at the source, then announced.
			v.revoke("sk-alice")
			if tt.evict == "" {
				v.revoke("sk-bob")
			}
			c.Evict(tt.evict)

			for _, cr := range []Credentials{aliceBasic, aliceBearer} {
				_, err := c.Validate(ctx, cr)
				if tt.wantAlice && err != nil {
					t.Fatalf("alice %+v: %v, want cached success", cr, err)
				}
				if !tt.wantAlice && !errors.Is(err, ErrInvalidKey) {
					t.Fatalf("alice %+v after eviction: %v, want ErrInvalidKey", cr, err)
				}
			}
			_, err := c.Validate(ctx, bobBearer)
			if tt.wantBob != (err == nil) {
				t.Fatalf("bob after eviction: %v, want cached=%v", err, tt.wantBob)
			}
		})
	}
}

// An answer given before a revocation but arriving after its eviction must
// not be cached, or the revoked key would be honoured for a whole TTL.
func TestCacheEvictDuringValidation(t *testing.T) {
	v := &countingValidator{keys: map[string]Principal{"sk-alice": alice}}
	c, _ := newTestCache(v, time.Hour)
	v.during = func() { c.Evict("pk-alice") }
	if _, err := c.Validate(context.Background(), Credentials{SecretKey: "sk-alice"}); err != nil {
		t.Fatal(err)
	}
	v.during = nil
	v.revoke("sk-alice")
	if _, err := c.Validate(context.Background(), Credentials{SecretKey: "sk-alice"}); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("stale answer was cached: %v", err)
	}
}

func TestCacheBounded(t *testing.T) {
	v := &countingValidator{keys: map[string]Principal{}}
	for i := range 10 {
		v.keys[fmt.Sprint("sk-", i)] = Principal{PublicKey: fmt.Sprint("pk-", i)}
	}
	c, clk := newTestCache(v, time.Minute)
	c.maxItems = 4
	ctx := context.Background()
	for i := range 10 {
		if _, err := c.Validate(ctx, Credentials{SecretKey: fmt.Sprint("sk-", i)}); err != nil {
			t.Fatal(err)
		}
		if n := len(c.entries); n > c.maxItems {
			t.Fatalf("cache holds %d entries, max %d", n, c.maxItems)
		}
	}
	// Expired entries are dropped first, so fresh ones survive a full cache.
	clk.Advance(2 * time.Minute)
	for i := range 3 {
		if _, err := c.Validate(ctx, Credentials{SecretKey: fmt.Sprint("sk-", i)}); err != nil {
			t.Fatal(err)
		}
	}
	before := v.calls.Load()
	for i := range 3 {
		if _, err := c.Validate(ctx, Credentials{SecretKey: fmt.Sprint("sk-", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if got := v.calls.Load(); got != before {
		t.Fatalf("fresh entries were dropped: %d more validator calls", got-before)
	}
}

// TestCacheConcurrent is for -race: validations, evictions and expiry at once.
func TestCacheConcurrent(t *testing.T) {
	v := &countingValidator{keys: map[string]Principal{}}
	for i := range 20 {
		v.keys[fmt.Sprint("sk-", i)] = Principal{PublicKey: fmt.Sprint("pk-", i)}
	}
	c, clk := newTestCache(v, 50*time.Millisecond)
	c.maxItems = 10
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				k := (g*7 + i) % 25 // some unknown keys too
				p, err := c.Validate(context.Background(), Credentials{SecretKey: fmt.Sprint("sk-", k)})
				switch {
				case k < 20 && (err != nil || p.PublicKey != fmt.Sprint("pk-", k)):
					t.Errorf("key %d: %+v, %v", k, p, err)
					return
				case k >= 20 && !errors.Is(err, ErrInvalidKey):
					t.Errorf("unknown key %d: %v", k, err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for i := range 200 {
			c.Evict(fmt.Sprint("pk-", i%20))
			clk.Advance(time.Millisecond)
		}
	})
	wg.Wait()
}
