package authn

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

var errAuthDown = errors.New("rpc error: code = Unavailable desc = auth's database is down")

// While auth cannot answer, a principal it granted is served past its TTL,
// up to staleFor, asking auth at most once per staleRetry.
func TestCacheServesStaleWhileAuthCannotAnswer(t *testing.T) {
	a := newTableAuth(map[string]Principal{"Bearer sk-alice": alice})
	c, clk := newTestCache(a, 10*time.Second)
	c.SetStaleFor(time.Minute)
	ctx := context.Background()
	r := Request{Authorization: "Bearer sk-alice"}
	if _, err := c.Authenticate(ctx, r); err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	a.err = errAuthDown
	a.mu.Unlock()

	clk.Advance(15 * time.Second) // past the TTL, within staleFor
	p, err := c.Authenticate(ctx, r)
	if err != nil || p.PublicKey != "pk-alice" {
		t.Fatalf("during the outage: %+v, %v; want alice, served stale", p, err)
	}
	calls := a.calls.Load()
	for range 50 {
		if _, err := c.Authenticate(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if got := a.calls.Load() - calls; got != 0 {
		t.Errorf("auth asked %d more times within staleRetry, want 0", got)
	}
	clk.Advance(staleRetry)
	if _, err := c.Authenticate(ctx, r); err != nil {
		t.Fatal(err)
	}
	if got := a.calls.Load() - calls; got != 1 {
		t.Errorf("auth asked %d times after staleRetry, want 1", got)
	}

	clk.Advance(time.Minute) // past staleFor
	if _, err := c.Authenticate(ctx, r); !errors.Is(err, errAuthDown) {
		t.Fatalf("past staleFor: %v, want auth's failure", err)
	}

	// Auth back: a fresh answer again.
	a.mu.Lock()
	a.err = nil
	a.mu.Unlock()
	if p, err := c.Authenticate(ctx, r); err != nil || p.PublicKey != "pk-alice" {
		t.Fatalf("after the outage: %+v, %v", p, err)
	}
}

// What is never served stale: a refusal, an answer a notice evicted, a key
// auth never validated, and anything when staleFor is 0.
func TestCacheStaleLimits(t *testing.T) {
	ctx := context.Background()
	down := func(a *tableAuth) {
		a.mu.Lock()
		a.err = errAuthDown
		a.mu.Unlock()
	}
	t.Run("refusal", func(t *testing.T) {
		a := newTableAuth(map[string]Principal{})
		c, clk := newTestCache(a, 10*time.Second)
		r := Request{Authorization: "Bearer sk-nobody"}
		if _, err := c.Authenticate(ctx, r); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatal(err)
		}
		down(a)
		clk.Advance(3 * time.Second) // the refusal's TTL is a fifth
		if _, err := c.Authenticate(ctx, r); !errors.Is(err, errAuthDown) {
			t.Fatalf("got %v, want auth's failure (a refusal is not served stale)", err)
		}
	})
	t.Run("revoked during the outage", func(t *testing.T) {
		a := newTableAuth(map[string]Principal{"Bearer sk-alice": alice})
		c, clk := newTestCache(a, 10*time.Second)
		r := Request{Authorization: "Bearer sk-alice"}
		if _, err := c.Authenticate(ctx, r); err != nil {
			t.Fatal(err)
		}
		down(a)
		c.Evict(Notice{KeyID: alice.KeyID})
		clk.Advance(15 * time.Second)
		if _, err := c.Authenticate(ctx, r); !errors.Is(err, errAuthDown) {
			t.Fatalf("got %v, want auth's failure (the revoked key is not served)", err)
		}
	})
	t.Run("never validated", func(t *testing.T) {
		a := newTableAuth(map[string]Principal{"Bearer sk-alice": alice})
		c, _ := newTestCache(a, 10*time.Second)
		down(a)
		if _, err := c.Authenticate(ctx, Request{Authorization: "Bearer sk-alice"}); !errors.Is(err, errAuthDown) {
			t.Fatalf("got %v, want auth's failure", err)
		}
	})
	t.Run("staleFor 0", func(t *testing.T) {
		a := newTableAuth(map[string]Principal{"Bearer sk-alice": alice})
		c, clk := newTestCache(a, 10*time.Second)
		c.SetStaleFor(0)
		r := Request{Authorization: "Bearer sk-alice"}
		if _, err := c.Authenticate(ctx, r); err != nil {
			t.Fatal(err)
		}
		down(a)
		clk.Advance(11 * time.Second)
		if _, err := c.Authenticate(ctx, r); !errors.Is(err, errAuthDown) {
			t.Fatalf("got %v, want auth's failure", err)
		}
	})
}

// blockingAuth answers only when released, counting the questions.
type blockingAuth struct {
	release chan struct{}
	mu      sync.Mutex
	calls   int
}

func (b *blockingAuth) Authenticate(ctx context.Context, r Request) (Principal, error) {
	b.mu.Lock()
	b.calls++
	b.mu.Unlock()
	select {
	case <-b.release:
		return Principal{PublicKey: "pk-" + r.Authorization}, nil
	case <-ctx.Done():
		return Principal{}, ctx.Err()
	}
}

func (b *blockingAuth) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls
}

// Concurrent misses for one key ask auth once, and a caller that gives up
// does not fail the others.
func TestCacheCollapsesConcurrentMisses(t *testing.T) {
	b := &blockingAuth{release: make(chan struct{})}
	c := NewCache(b, time.Minute)
	const callers = 20
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Go(func() {
			p, err := c.Authenticate(context.Background(), Request{Authorization: "k"})
			if err == nil && p.PublicKey != "pk-k" {
				err = fmt.Errorf("got %+v", p)
			}
			errs <- err
		})
	}
	// One more caller that gives up while the question is in flight.
	gaveUp, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := c.Authenticate(gaveUp, Request{Authorization: "k"})
		done <- err
	}()
	waitFor(t, func() bool { return b.count() >= 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("the caller that gave up got %v", err)
	}
	time.Sleep(20 * time.Millisecond) // let the other callers join the question
	close(b.release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := b.count(); n != 1 {
		t.Errorf("auth asked %d times for one key, want 1", n)
	}
}

// A caller holding a stale answer waits at most staleWait for an auth that
// hangs, then is served the stale answer.
func TestCacheStaleWhenAuthHangs(t *testing.T) {
	b := &blockingAuth{release: make(chan struct{})}
	close(b.release)
	c, clk := newTestCache(b, 10*time.Second)
	ctx := context.Background()
	if _, err := c.Authenticate(ctx, Request{Authorization: "k"}); err != nil {
		t.Fatal(err)
	}
	b.release = make(chan struct{}) // auth hangs from now on
	defer close(b.release)
	clk.Advance(11 * time.Second)
	start := time.Now()
	p, err := c.Authenticate(ctx, Request{Authorization: "k"})
	if err != nil || p.PublicKey != "pk-k" {
		t.Fatalf("got %+v, %v; want the stale answer", p, err)
	}
	if waited := time.Since(start); waited < staleWait || waited > staleWait+2*time.Second {
		t.Errorf("waited %s, want about %s", waited, staleWait)
	}
}

// A full cache drops its least recently used answer, one at a time.
func TestCacheEvictsLeastRecentlyUsed(t *testing.T) {
	a := newTableAuth(map[string]Principal{})
	for i := range 4 {
		a.set(fmt.Sprint("k", i), Principal{PublicKey: fmt.Sprint("pk-", i)})
	}
	c, _ := newTestCache(a, time.Hour)
	c.maxItems = 3
	ctx := context.Background()
	auth := func(i int) {
		t.Helper()
		if _, err := c.Authenticate(ctx, Request{Authorization: fmt.Sprint("k", i)}); err != nil {
			t.Fatal(err)
		}
	}
	auth(0)
	auth(1)
	auth(2)
	auth(0) // k1 is now the least recently used
	auth(3) // makes room: k1 goes
	before := a.calls.Load()
	auth(0)
	auth(2)
	auth(3)
	if got := a.calls.Load() - before; got != 0 {
		t.Errorf("recently used answers were dropped: %d calls", got)
	}
	auth(1)
	if got := a.calls.Load() - before; got != 1 {
		t.Errorf("k1 should have been dropped: %d calls", got)
	}
	if len(c.entries) != 3 || c.lru.Len() != 3 {
		t.Errorf("cache holds %d entries (%d in the list), want 3", len(c.entries), c.lru.Len())
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5s")
		}
		time.Sleep(time.Millisecond)
	}
}
