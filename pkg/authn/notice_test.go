package authn

import (
	"context"
	"crypto/rand"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"
	"google.golang.org/grpc"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/pkg/grpctest"
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
	nc, err := nats.Connect(natsURL(), nats.Timeout(5*time.Second))
	if err != nil {
		t.Fatalf("connect NATS at %s: %v", natsURL(), err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func TestDecodeNotice(t *testing.T) {
	tests := []struct {
		in      string
		want    Notice
		wantErr bool
	}{
		{in: `{"public_key":"pk-at-x"}`, want: Notice{PublicKey: "pk-at-x"}},
		{in: `{"key_id":"k"}`, want: Notice{KeyID: "k"}},
		{in: `{"user_id":"u","organization_id":"o"}`, want: Notice{UserID: "u", OrganizationID: "o"}},
		{in: `{"all":true}`, want: Notice{All: true}},
		{in: `{"all":true,"future_field":1}`, want: Notice{All: true}},
		{in: `{}`, wantErr: true},
		{in: `{"all":false}`, wantErr: true},
		{in: `{"public_key":""}`, wantErr: true},
		{in: `pk-at-x`, wantErr: true}, // the old revocation format
		{in: ``, wantErr: true},
		{in: `{"user_id":5}`, wantErr: true},
		{in: `null`, wantErr: true},
	}
	for _, tt := range tests {
		got, err := DecodeNotice([]byte(tt.in))
		if tt.wantErr != (err != nil) || got != tt.want {
			t.Errorf("DecodeNotice(%q) = %+v, %v; want %+v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func FuzzDecodeNotice(f *testing.F) {
	for _, s := range []string{`{"public_key":"pk"}`, `{"all":true}`, `{}`, `[]`, `{"user_id":"u","organization_id":"o"}`, "\xff", `{"key_id":null}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := DecodeNotice(b)
		if err == nil && n.empty() {
			t.Fatalf("accepted an empty notice from %q", b)
		}
	})
}

func TestUnreadableNoticeClearsTheCache(t *testing.T) {
	a := newTableAuth(map[string]Principal{"Bearer sk-alice": alice, "Bearer sk-bob": bob})
	c, _ := newTestCache(a, time.Hour)
	for _, h := range []string{"Bearer sk-alice", "Bearer sk-bob"} {
		if _, err := c.Authenticate(context.Background(), Request{Authorization: h}); err != nil {
			t.Fatal(err)
		}
	}
	c.evictNotice([]byte(`{"public_key":"pk-alice"}`))
	if n := len(c.entries); n != 1 {
		t.Fatalf("a readable notice left %d entries, want 1", n)
	}
	c.evictNotice([]byte("garbage"))
	if n := len(c.entries); n != 0 {
		t.Fatalf("an unreadable notice left %d entries", n)
	}
}

func TestPublishInvalidationRefusesEmptyNotices(t *testing.T) {
	if testing.Short() {
		t.Skip("needs NATS; skipped with -short")
	}
	if err := PublishInvalidation(connectNATS(t), Notice{}); !errors.Is(err, errEmptyNotice) {
		t.Fatalf("PublishInvalidation(empty) = %v", err)
	}
}

// authServer serves Authenticate from a tableAuth over TCP, standing in for
// the auth service behind two replicas of another service.
type authServer struct {
	authv1.UnimplementedAuthServiceServer
	a *tableAuth
}

func (s authServer) Authenticate(ctx context.Context, req *authv1.AuthenticateRequest) (*authv1.AuthenticateResponse, error) {
	p, err := s.a.Authenticate(ctx, Request{Authorization: req.GetAuthorization(), ProjectID: req.GetProjectId()})
	if err != nil {
		return nil, statusOf(err)
	}
	return &authv1.AuthenticateResponse{Principal: PrincipalToProto(p)}, nil
}

// TestInvalidationReachesEveryReplica: two Clients (two replicas of a
// service, each with its own cache and NATS connection) have cached a key
// and a member; auth revokes the key and removes the member, announcing
// both; within a second both replicas refuse them, and keep honouring
// everyone else from their caches.
func TestInvalidationReachesEveryReplica(t *testing.T) {
	if testing.Short() {
		t.Skip("needs NATS; skipped with -short")
	}
	// The subject is shared with any other test run on this server, so the
	// ids are unique to this run.
	run := rand.Text()
	key := Principal{Kind: KindAPIKey, KeyID: "k-" + run, PublicKey: "pk-" + run, Scopes: readWrite, ProjectID: "p-" + run, OrganizationID: "o-" + run}
	kept := Principal{Kind: KindAPIKey, KeyID: "k2-" + run, PublicKey: "pk2-" + run, Scopes: readWrite, ProjectID: "p-" + run, OrganizationID: "o-" + run}
	member := Principal{Kind: KindUser, UserID: "u-" + run, Role: authv1.Role_ROLE_MEMBER, OrganizationID: "o-" + run}
	a := newTableAuth(map[string]Principal{"Bearer sk-key": key, "Bearer sk-kept": kept, "Bearer jwt-member": member})

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	authv1.RegisterAuthServiceServer(gs, authServer{a: a})
	grpctest.Serve(t, gs, lis)

	var replicas []*Client
	for range 2 {
		c, err := NewClient(ClientConfig{Addr: lis.Addr().String(), CacheTTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close(context.Background()) })
		nc := connectNATS(t)
		if err := c.FollowRevocations(nc); err != nil {
			t.Fatal(err)
		}
		if err := nc.Flush(); err != nil { // the subscription is live on the server
			t.Fatal(err)
		}
		replicas = append(replicas, c)
	}
	requests := map[string]Request{
		"key":    {Authorization: "Bearer sk-key"},
		"kept":   {Authorization: "Bearer sk-kept"},
		"member": {Authorization: "Bearer jwt-member", ProjectID: "p-" + run},
	}
	ctx := context.Background()
	for _, c := range replicas {
		for name, r := range requests {
			if _, err := c.Authenticator().Authenticate(ctx, r); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
	}
	calls := a.calls.Load()

	// Auth revokes the key and removes the member, then announces both.
	a.remove("Bearer sk-key")
	a.mu.Lock()
	a.noAccess["Bearer jwt-member\x00p-"+run] = true
	a.mu.Unlock()
	pub := connectNATS(t)
	start := time.Now()
	if err := PublishInvalidation(pub, Notice{PublicKey: key.PublicKey}); err != nil {
		t.Fatal(err)
	}
	if err := PublishInvalidation(pub, Notice{UserID: member.UserID, OrganizationID: "o-" + run}); err != nil {
		t.Fatal(err)
	}

	for i, c := range replicas {
		for name, want := range map[string]error{"key": ErrInvalidCredentials, "member": ErrNoAccess} {
			for {
				_, err := c.Authenticator().Authenticate(ctx, requests[name])
				if errors.Is(err, want) {
					t.Logf("replica %d refuses the %s %v after the announcement", i, name, time.Since(start).Round(time.Millisecond))
					break
				}
				if time.Since(start) > time.Second {
					t.Fatalf("replica %d still honours the %s a second after the announcement: %v", i, name, err)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
	}
	// The organization-wide eviction asked again for the kept key too (same
	// organization); a second round is served from the caches.
	for _, c := range replicas {
		if _, err := c.Authenticator().Authenticate(ctx, requests["kept"]); err != nil {
			t.Fatalf("kept key: %v", err)
		}
	}
	before := a.calls.Load()
	for _, c := range replicas {
		if _, err := c.Authenticator().Authenticate(ctx, requests["kept"]); err != nil {
			t.Fatalf("kept key: %v", err)
		}
	}
	if a.calls.Load() != before || before <= calls {
		t.Fatalf("auth calls: %d before the notices, %d after re-asking, %d now", calls, before, a.calls.Load())
	}
}
