package authn

import (
	"context"
	"testing"
	"time"
)

func TestNewClientRejectsNegativeTTL(t *testing.T) {
	if _, err := NewClient(ClientConfig{Addr: "127.0.0.1:1", CacheTTL: -time.Second}); err == nil {
		t.Fatal("want error for a negative cache TTL")
	}
}

// With auth unreachable, authentication fails with an error that is not a
// refusal, so the interceptor answers Unavailable rather than 401.
func TestClientWithAuthDown(t *testing.T) {
	c, err := NewClient(ClientConfig{Addr: "127.0.0.1:1", CacheTTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	if c.Interceptors() == nil {
		t.Fatal("no interceptor option")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err = c.Authenticator().Authenticate(ctx, Request{Authorization: "Bearer sk-at-x"})
	if err == nil || refusal(err) != nil {
		t.Fatalf("Authenticate with auth down = %v, want a failure that is not a refusal", err)
	}
}
