package authn

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
)

// tableAuth stands in for auth: it answers from a table of principals by
// Authorization header, and counts the questions.
type tableAuth struct {
	mu     sync.Mutex
	byAuth map[string]Principal
	// noAccess lists "authorization\x00project" pairs refused with ErrNoAccess.
	noAccess map[string]bool
	err      error // returned for every call when set
	calls    atomic.Int64
	// during runs inside Authenticate, before it answers.
	during func()
}

func newTableAuth(byAuth map[string]Principal) *tableAuth {
	return &tableAuth{byAuth: byAuth, noAccess: map[string]bool{}}
}

func (a *tableAuth) Authenticate(_ context.Context, r Request) (Principal, error) {
	a.calls.Add(1)
	if a.during != nil {
		a.during()
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.err != nil {
		return Principal{}, a.err
	}
	p, ok := a.byAuth[r.Authorization]
	if !ok {
		return Principal{}, ErrInvalidCredentials
	}
	if a.noAccess[r.Authorization+"\x00"+r.ProjectID] {
		return Principal{}, ErrNoAccess
	}
	if p.Kind == KindUser && r.ProjectID != "" {
		p.ProjectID = r.ProjectID
	}
	return p, nil
}

func (a *tableAuth) set(authorization string, p Principal) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.byAuth[authorization] = p
}

func (a *tableAuth) remove(authorization string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.byAuth, authorization)
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

func newTestCache(a Authenticator, ttl time.Duration) (*Cache, *fakeClock) {
	clk := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	c := NewCache(a, ttl)
	c.now = clk.Now
	return c, clk
}

var (
	readWrite = []authv1.APIKeyScope{authv1.APIKeyScope_API_KEY_SCOPE_INGEST, authv1.APIKeyScope_API_KEY_SCOPE_READ}
	alice     = Principal{Kind: KindAPIKey, KeyID: "k1", PublicKey: "pk-alice", Scopes: readWrite, ProjectID: "p1", OrganizationID: "o1"}
	bob       = Principal{Kind: KindAPIKey, KeyID: "k2", PublicKey: "pk-bob", Scopes: readWrite, ProjectID: "p2", OrganizationID: "o2"}
	carol     = Principal{Kind: KindUser, UserID: "u-carol", Email: "carol@example.com", Role: authv1.Role_ROLE_MEMBER, OrganizationID: "o1"}
)

func TestCacheTTL(t *testing.T) {
	a := newTableAuth(map[string]Principal{"Bearer sk-alice": alice})
	c, clk := newTestCache(a, 10*time.Second)
	r := Request{Authorization: "Bearer sk-alice"}
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
		p, err := c.Authenticate(context.Background(), r)
		if err != nil || !reflect.DeepEqual(p, alice) {
			t.Fatalf("step %d: Authenticate = %+v, %v", i, p, err)
		}
		if got := a.calls.Load(); got != s.wantCalls {
			t.Fatalf("step %d: auth asked %d times, want %d", i, got, s.wantCalls)
		}
	}
}

func TestCacheRefusals(t *testing.T) {
	tests := []struct {
		name string
		err  error
	}{
		{"invalid credentials", ErrInvalidCredentials},
		{"no access", ErrNoAccess},
		{"no credentials", ErrNoCredentials},
		{"wrapped", fmt.Errorf("remote: %w", ErrInvalidCredentials)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTableAuth(map[string]Principal{})
			a.err = tt.err
			c, clk := newTestCache(a, 10*time.Second)
			r := Request{Authorization: "Bearer sk-new"}
			for range 2 {
				if _, err := c.Authenticate(context.Background(), r); !errors.Is(err, refusal(tt.err)) {
					t.Fatalf("Authenticate = %v, want %v", err, tt.err)
				}
			}
			if got := a.calls.Load(); got != 1 {
				t.Fatalf("auth asked %d times, want 1 (refusals are cached)", got)
			}
			// The key is created now; the refusal is kept for ttl/5.
			a.err = nil
			a.set("Bearer sk-new", alice)
			clk.Advance(1999 * time.Millisecond)
			if _, err := c.Authenticate(context.Background(), r); err == nil {
				t.Fatal("refusal forgotten before ttl/5")
			}
			clk.Advance(time.Millisecond)
			if p, err := c.Authenticate(context.Background(), r); err != nil || !reflect.DeepEqual(p, alice) {
				t.Fatalf("after ttl/5: %+v, %v; want alice", p, err)
			}
		})
	}
}

func TestCacheDoesNotCacheFailures(t *testing.T) {
	boom := errors.New("auth unreachable")
	a := newTableAuth(nil)
	a.err = boom
	c, _ := newTestCache(a, 10*time.Second)
	for range 3 {
		if _, err := c.Authenticate(context.Background(), Request{Authorization: "Bearer sk"}); !errors.Is(err, boom) {
			t.Fatalf("Authenticate = %v, want %v", err, boom)
		}
	}
	if got := a.calls.Load(); got != 3 {
		t.Fatalf("auth asked %d times, want 3 (failures must not be cached)", got)
	}
}

// Every part of the request is part of the key: the same token naming
// another project, or asking for the organization role, is another answer.
func TestCacheKeyCoversTheRequest(t *testing.T) {
	a := newTableAuth(map[string]Principal{"Bearer jwt-carol": carol, "Bearer sk-alice": alice})
	a.noAccess["Bearer jwt-carol\x00p-other"] = true
	c, _ := newTestCache(a, time.Hour)
	ctx := context.Background()
	reqs := []Request{
		{Authorization: "Bearer jwt-carol", ProjectID: "p1"},
		{Authorization: "Bearer jwt-carol", ProjectID: "p-other"},
		{Authorization: "Bearer jwt-carol", ProjectID: "p1", OrganizationRole: true},
		{Authorization: "Bearer jwt-carol", OrganizationID: "o1"},
		{Authorization: "Bearer jwt-carol"},
		{Authorization: "Bearer jwt-carol", DefaultOrganization: true},
		{Authorization: "Bearer sk-alice"},
		{Authorization: "Bearer sk-alice\x00p1"}, // no confusion with a separator
	}
	for round := range 2 {
		for i, r := range reqs {
			_, _ = c.Authenticate(ctx, r)
			if got, want := a.calls.Load(), int64(i+1); round == 0 && got != want {
				t.Fatalf("request %d: auth asked %d times, want %d (a cached answer for another request was used)", i, got, want)
			}
		}
	}
	if got := a.calls.Load(); got != int64(len(reqs)) {
		t.Fatalf("second round asked auth again: %d calls", got)
	}
	if _, err := c.Authenticate(ctx, reqs[1]); !errors.Is(err, ErrNoAccess) {
		t.Fatalf("no-access answer = %v", err)
	}
}

func TestCacheEvict(t *testing.T) {
	dave := Principal{Kind: KindUser, UserID: "u-dave", Role: authv1.Role_ROLE_ADMIN, OrganizationID: "o2"}
	entries := map[string]Principal{"Bearer sk-alice": alice, "Bearer sk-bob": bob, "Bearer jwt-carol": carol, "Bearer jwt-dave": dave}
	tests := []struct {
		name    string
		notice  Notice
		evicted []string
	}{
		{"public key", Notice{PublicKey: "pk-alice"}, []string{"Bearer sk-alice"}},
		{"key id", Notice{KeyID: "k2"}, []string{"Bearer sk-bob"}},
		{"user", Notice{UserID: "u-carol"}, []string{"Bearer jwt-carol"}},
		{"organization", Notice{OrganizationID: "o2"}, []string{"Bearer sk-bob", "Bearer jwt-dave"}},
		{"user or organization", Notice{UserID: "u-carol", OrganizationID: "o2"}, []string{"Bearer sk-bob", "Bearer jwt-carol", "Bearer jwt-dave"}},
		{"unknown", Notice{PublicKey: "pk-nobody", UserID: "u-nobody"}, nil},
		{"all", Notice{All: true}, []string{"Bearer sk-alice", "Bearer sk-bob", "Bearer jwt-carol", "Bearer jwt-dave"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTableAuth(map[string]Principal{})
			for k, p := range entries {
				a.set(k, p)
			}
			c, _ := newTestCache(a, time.Hour)
			ctx := context.Background()
			for k := range entries {
				if _, err := c.Authenticate(ctx, Request{Authorization: k}); err != nil {
					t.Fatal(err)
				}
			}
			// Everything changes at the source; only evicted entries see it.
			for k := range entries {
				a.remove(k)
			}
			c.Evict(tt.notice)
			for k, p := range entries {
				got, err := c.Authenticate(ctx, Request{Authorization: k})
				evicted := slices.Contains(tt.evicted, k)
				if evicted && !errors.Is(err, ErrInvalidCredentials) {
					t.Errorf("%s after eviction: %+v, %v; want ErrInvalidCredentials", k, got, err)
				}
				if !evicted && (err != nil || !reflect.DeepEqual(got, p)) {
					t.Errorf("%s: %+v, %v; want it still cached", k, got, err)
				}
			}
		})
	}
}

// Refusals survive targeted notices (a change that takes access away cannot
// grant it) but not a notice to clear everything.
func TestCacheEvictKeepsRefusals(t *testing.T) {
	a := newTableAuth(map[string]Principal{})
	c, _ := newTestCache(a, time.Hour)
	r := Request{Authorization: "Bearer sk-alice"}
	if _, err := c.Authenticate(context.Background(), r); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatal(err)
	}
	a.set("Bearer sk-alice", alice)
	c.Evict(Notice{PublicKey: "pk-alice"})
	if _, err := c.Authenticate(context.Background(), r); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("targeted notice evicted a refusal: %v", err)
	}
	c.Evict(Notice{All: true})
	if _, err := c.Authenticate(context.Background(), r); err != nil {
		t.Fatalf("clear-all kept a refusal: %v", err)
	}
}

// be cached, or the change would be ignored for a whole TTL.
func TestCacheEvictDuringAuthentication(t *testing.T) {
	a := newTableAuth(map[string]Principal{"Bearer sk-alice": alice})
	c, _ := newTestCache(a, time.Hour)
	a.during = func() { c.Evict(Notice{PublicKey: "pk-alice"}) }
	r := Request{Authorization: "Bearer sk-alice"}
	if _, err := c.Authenticate(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	a.during = nil
	a.remove("Bearer sk-alice")
	if _, err := c.Authenticate(context.Background(), r); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("stale answer was cached: %v", err)
	}
}

func TestCacheBounded(t *testing.T) {
	a := newTableAuth(map[string]Principal{})
	for i := range 10 {
		a.set(fmt.Sprint("Bearer sk-", i), Principal{PublicKey: fmt.Sprint("pk-", i)})
	}
	c, clk := newTestCache(a, time.Minute)
	c.maxItems = 4
	ctx := context.Background()
	for i := range 10 {
		if _, err := c.Authenticate(ctx, Request{Authorization: fmt.Sprint("Bearer sk-", i)}); err != nil {
			t.Fatal(err)
		}
		if n := len(c.entries); n > c.maxItems {
			t.Fatalf("cache holds %d entries, max %d", n, c.maxItems)
		}
	}
	// Expired entries are dropped first, so fresh ones survive a full cache.
	clk.Advance(2 * time.Minute)
	for i := range 3 {
		if _, err := c.Authenticate(ctx, Request{Authorization: fmt.Sprint("Bearer sk-", i)}); err != nil {
			t.Fatal(err)
		}
	}
	before := a.calls.Load()
	for i := range 3 {
		if _, err := c.Authenticate(ctx, Request{Authorization: fmt.Sprint("Bearer sk-", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if got := a.calls.Load(); got != before {
		t.Fatalf("fresh entries were dropped: %d more calls to auth", got-before)
	}
}

// TestCacheConcurrent is for -race: answers, evictions and expiry at once.
func TestCacheConcurrent(t *testing.T) {
	a := newTableAuth(map[string]Principal{})
	for i := range 20 {
		a.set(fmt.Sprint("Bearer sk-", i), Principal{PublicKey: fmt.Sprint("pk-", i)})
	}
	c, clk := newTestCache(a, 50*time.Millisecond)
	c.maxItems = 10
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				k := (g*7 + i) % 25 // some unknown keys too
				p, err := c.Authenticate(context.Background(), Request{Authorization: fmt.Sprint("Bearer sk-", k)})
				switch {
				case k < 20 && (err != nil || p.PublicKey != fmt.Sprint("pk-", k)):
					t.Errorf("key %d: %+v, %v", k, p, err)
					return
				case k >= 20 && !errors.Is(err, ErrInvalidCredentials):
					t.Errorf("unknown key %d: %v", k, err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for i := range 200 {
			c.Evict(Notice{PublicKey: fmt.Sprint("pk-", i%20)})
			clk.Advance(time.Millisecond)
		}
	})
	wg.Wait()
}
