package authn

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func natsURL() string {
	if u := os.Getenv("AGENTTRACE_NATS_URL"); u != "" {
		return u
	}
	return "nats://127.0.0.1:4222"
}

func connectNATS(t *testing.T) *nats.Conn {
	t.Helper()
	if testing.Short() {
		t.Skip("needs NATS; skipped with -short")
	}
	nc, err := nats.Connect(natsURL(), nats.Timeout(5*time.Second))
	if err != nil {
		t.Fatalf("connect NATS at %s: %v", natsURL(), err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// TestRevocationEvictsEverywhere: a revocation published by one connection
// (auth) evicts the key from a cache subscribed on another (a service),
// within a second, and leaves other keys alone.
func TestRevocationEvictsEverywhere(t *testing.T) {
	pub, subConn := connectNATS(t), connectNATS(t)
	// RevocationSubject is shared with any other test run on this server, so
	// the keys are unique to this run.
	revoked := Principal{KeyID: "k1", PublicKey: "pk-test-" + rand.Text(), ProjectID: "p1", OrganizationID: "o1"}
	kept := Principal{KeyID: "k2", PublicKey: "pk-test-" + rand.Text(), ProjectID: "p1", OrganizationID: "o1"}
	v := &countingValidator{keys: map[string]Principal{"sk-revoked": revoked, "sk-kept": kept}}
	cache := NewCache(v, time.Hour)
	sub, err := SubscribeRevocations(subConn, cache)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := subConn.Flush(); err != nil { // the subscription is live on the server
		t.Fatal(err)
	}

	ctx := context.Background()
	for _, s := range []string{"sk-revoked", "sk-kept"} {
		if _, err := cache.Validate(ctx, Credentials{SecretKey: s}); err != nil {
			t.Fatal(err)
		}
	}
	v.revoke("sk-revoked")
	if err := PublishRevocation(pub, revoked.PublicKey); err != nil {
		t.Fatal(err)
	}

	deadline := time.Now().Add(time.Second)
	for {
		_, err := cache.Validate(ctx, Credentials{SecretKey: "sk-revoked"})
		if errors.Is(err, ErrInvalidKey) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("revoked key still valid a second after the announcement: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	calls := v.calls.Load()
	if _, err := cache.Validate(ctx, Credentials{SecretKey: "sk-kept"}); err != nil {
		t.Fatal(err)
	}
	if v.calls.Load() != calls {
		t.Fatal("an unrelated key was evicted")
	}
}

func TestPublishRevocationErrors(t *testing.T) {
	nc := connectNATS(t)
	if err := PublishRevocation(nc, ""); err == nil {
		t.Fatal("publishing an empty key (evict everything) must be refused")
	}
	closed := connectNATS(t)
	closed.Close()
	if err := PublishRevocation(closed, "pk-x"); err == nil {
		t.Fatal("publishing on a closed connection must fail")
	}
	if _, err := SubscribeRevocations(closed, NewCache(&countingValidator{}, time.Second)); err == nil {
		t.Fatal("subscribing on a closed connection must fail")
	}
}

// After a reconnect the cache is cleared: announcements may have been missed.
func TestReconnectClearsCache(t *testing.T) {
	nc := connectNATS(t)
	chained := make(chan struct{}, 1)
	nc.SetReconnectHandler(func(*nats.Conn) { chained <- struct{}{} })
	v := &countingValidator{keys: map[string]Principal{"sk-alice": alice}}
	cache := NewCache(v, time.Hour)
	sub, err := SubscribeRevocations(nc, cache)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if _, err := cache.Validate(context.Background(), Credentials{SecretKey: "sk-alice"}); err != nil {
		t.Fatal(err)
	}
	// Invoke the handler the way nats.go does after reconnecting.
	nc.Opts.ReconnectedCB(nc)
	select {
	case <-chained:
	default:
		t.Fatal("the previous reconnect handler was not chained")
	}
	if _, err := cache.Validate(context.Background(), Credentials{SecretKey: "sk-alice"}); err != nil {
		t.Fatal(err)
	}
	if got := v.calls.Load(); got != 2 {
		t.Fatalf("validator called %d times, want 2 (cache cleared on reconnect)", got)
	}
}
