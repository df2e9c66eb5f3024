package identityapi_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/agenttrace/agenttrace/pkg/authn"
	"github.com/agenttrace/agenttrace/pkg/config"
	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/pkg/grpctest"
	"github.com/agenttrace/agenttrace/pkg/jwtkeys"
	"github.com/agenttrace/agenttrace/services/auth/internal/audit"
	"github.com/agenttrace/agenttrace/services/auth/internal/identity"
	"github.com/agenttrace/agenttrace/services/auth/internal/identityapi"
	"github.com/agenttrace/agenttrace/services/auth/internal/password"
	"github.com/agenttrace/agenttrace/services/auth/internal/pgstore"
	"github.com/agenttrace/agenttrace/services/auth/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const jwtSecret = "identityapi-test-secret-0123456789abcdef"

// syncBuffer collects log output from concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// clock is a settable time source; zero offset is the real time.
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// env is an IdentityService on a real gRPC server over a real database.
type env struct {
	client authv1.IdentityServiceClient
	store  *pgstore.Store
	pool   *pgxpool.Pool
	keys   *jwtkeys.Ring
	clock  *clock
	logs   *syncBuffer

	mu      sync.Mutex
	secrets []string
}

type envOptions struct {
	fresh                 bool // a database of its own, without users
	account, address      identity.AttemptLimiter
	hasherOpts            []password.Option
	accessTTL, refreshTTL time.Duration
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	u := pgtest.URL(t)
	if o.fresh {
		u = freshDatabase(t)
	}
	pool := pgtest.Pool(t, u)
	e := &env{store: pgstore.New(pool), pool: pool, clock: &clock{}, logs: &syncBuffer{}}
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	var err error
	if e.keys, err = jwtkeys.NewRing(jwtkeys.Config{Secret: jwtSecret}); err != nil {
		t.Fatal(err)
	}
	hasher, err := password.New(append([]password.Option{password.WithTestParams()}, o.hasherOpts...)...)
	if err != nil {
		t.Fatal(err)
	}
	cfg := identity.Config{
		Store: e.store, Hasher: hasher, Keys: e.keys,
		AccessTTL: time.Minute, RefreshTTL: time.Hour,
		AccountLimiter: o.account, AddressLimiter: o.address,
		Audit: audit.NewRecorder(audit.Config{Store: pgstore.NewAuditStore(pool)}),
		Log:   log, Now: e.clock.now,
	}
	if o.accessTTL > 0 {
		cfg.AccessTTL = o.accessTTL
	}
	if o.refreshTTL > 0 {
		cfg.RefreshTTL = o.refreshTTL
	}
	svc, err := identity.NewService(cfg)
	if err != nil {
		t.Fatal(err)
	}

	srv := grpc.NewServer(grpc.UnaryInterceptor(e.authenticate))
	authv1.RegisterIdentityServiceServer(srv, identityapi.New(svc, log))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	e.client = authv1.NewIdentityServiceClient(conn)
	t.Cleanup(func() {
		conn.Close()
		// No secret this test handled may appear in any log line.
		logs := e.logs.String()
		for _, s := range e.secretList() {
			if strings.Contains(logs, s) {
				t.Errorf("a secret (%.8s...) appears in the logs", s)
			}
		}
	})
	// Registered after the check above, so that the server stops first.
	grpctest.Serve(t, srv, lis)
	return e
}

// authenticate stands in for the authn interceptor: a Bearer access token
// makes a user principal, "x-test-api-key" an API key principal.
func (e *env) authenticate(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get("authorization"); len(v) > 0 {
		c, err := e.keys.VerifyUserToken(strings.TrimPrefix(v[0], "Bearer "))
		if err != nil {
			return nil, err
		}
		p := authn.Principal{Kind: authn.KindUser, UserID: c.Subject, Email: c.Email}
		// The role the authenticator would resolve in the named project.
		if v := md.Get("x-test-project-role"); len(v) > 0 {
			project, role, _ := strings.Cut(v[0], "=")
			p.ProjectID, p.Role = project, authv1.Role(authv1.Role_value[role])
		}
		ctx = authn.WithPrincipal(ctx, p)
	}
	if v := md.Get("x-test-api-key"); len(v) > 0 {
		ctx = authn.WithPrincipal(ctx, authn.Principal{Kind: authn.KindAPIKey, KeyID: v[0]})
	}
	return h(ctx, req)
}

func (e *env) secret(s string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if s != "" {
		e.secrets = append(e.secrets, s)
	}
	return s
}

func (e *env) secretList() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.secrets...)
}

// tokens remembers both tokens of a response as secrets.
func (e *env) tokens(t *authv1.Tokens) *authv1.Tokens {
	e.secret(t.GetAccessToken())
	e.secret(t.GetRefreshToken())
	return t
}

func bearer(ctx context.Context, access string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+access)
}

// freshDatabase makes and migrates a database of the test's own.
func freshDatabase(t *testing.T) config.Secret {
	t.Helper()
	u := pgtest.FreshURL(t)
	ctx := context.Background()
	if _, err := pgstore.EnsureDatabase(ctx, pgstore.Config{URL: u}); err != nil {
		t.Fatal(err)
	}
	m, err := pgstore.NewMigrator(pgstore.Config{URL: u})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Up(ctx); err != nil {
		t.Fatal(err)
	}
	return u
}

func uniqueEmail() string { return "user-" + uuid.NewString() + "@example.com" }

// fakeLimiter refuses once n attempts per key were allowed, or fails.
type fakeLimiter struct {
	mu    sync.Mutex
	n     int
	err   error
	seen  map[string]int
	retry time.Duration
}

func (f *fakeLimiter) Allow(_ context.Context, key string) (bool, time.Duration, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return false, 0, f.err
	}
	if f.seen == nil {
		f.seen = map[string]int{}
	}
	f.seen[key]++
	if f.seen[key] > f.n {
		return false, f.retry, nil
	}
	return true, 0, nil
}

func (f *fakeLimiter) keys() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for k, v := range f.seen {
		out[k] = v
	}
	return out
}
