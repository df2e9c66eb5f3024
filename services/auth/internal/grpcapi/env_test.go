package grpcapi_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"log/slog"
	"net"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"

	"github.com/agenttrace/agenttrace/pkg/authn"
	"github.com/agenttrace/agenttrace/pkg/config"
	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/pkg/grpctest"
	"github.com/agenttrace/agenttrace/pkg/jwtkeys"
	"github.com/agenttrace/agenttrace/services/auth/internal/audit"
	"github.com/agenttrace/agenttrace/services/auth/internal/grpcapi"
	"github.com/agenttrace/agenttrace/services/auth/internal/lastused"
	"github.com/agenttrace/agenttrace/services/auth/internal/pgstore"
	"github.com/agenttrace/agenttrace/services/auth/internal/pgtest"
	"github.com/agenttrace/agenttrace/services/auth/internal/principal"
	"github.com/agenttrace/agenttrace/services/auth/internal/revocation"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

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

// env is an auth server as the service wires it (interceptor over a cache
// over the Service, revocations over real NATS, the store on real
// PostgreSQL), reached over an in-memory connection.
type env struct {
	client authv1.AuthServiceClient
	conn   *grpc.ClientConn
	svc    *tenancy.Service
	store  *pgstore.Store
	nc     *nats.Conn
	ring   *jwtkeys.Ring // signs user tokens the server accepts
}

type envOptions struct {
	nc       *nats.Conn // announcements go here; a fresh connection when nil
	store    tenancy.Store
	logTo    io.Writer
	flushLag time.Duration
}

func newEnv(t *testing.T, opts envOptions) *env {
	t.Helper()
	u := pgtest.URL(t)
	leaks := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, leaks) })

	pool := pgtest.Pool(t, u)
	store := pgstore.New(pool)
	var st tenancy.Store = store
	if opts.store != nil {
		st = opts.store
	}
	nc := opts.nc
	if nc == nil {
		nc = connectNATS(t)
	}
	if opts.flushLag == 0 {
		opts.flushLag = time.Hour
	}
	if opts.logTo == nil {
		opts.logTo = io.Discard
	}
	tracker := lastused.New(lastused.Config{Write: st.TouchAPIKeys, FlushEvery: opts.flushLag})
	var cache *authn.Cache
	svc := tenancy.NewService(tenancy.Config{
		Store:     st,
		Usage:     tracker,
		Announcer: revocation.NewAnnouncer(nc, func(n authn.Notice) { cache.Evict(n) }),
		Audit:     audit.NewRecorder(audit.Config{Store: pgstore.NewAuditStore(pool)}),
	})
	ring, err := jwtkeys.NewRing(jwtkeys.Config{Secret: config.Secret(rand.Text() + rand.Text())})
	if err != nil {
		t.Fatal(err)
	}
	resolver := principal.New(principal.Config{Keys: svc, Tokens: ring, Roles: store})
	cache = authn.NewCache(resolver, time.Minute)

	lis := bufconn.Listen(1 << 20)
	gs := grpc.NewServer(
		grpc.ChainUnaryInterceptor(authn.UnaryServerInterceptor(cache)),
		grpc.ChainStreamInterceptor(authn.StreamServerInterceptor(cache)),
	)
	authv1.RegisterAuthServiceServer(gs, grpcapi.New(svc, slog.New(slog.NewTextHandler(opts.logTo, nil))).WithAuthenticator(resolver))
	grpctest.Serve(t, gs, lis)
	ctx, cancel := context.WithCancel(context.Background())
	trackerDone := make(chan struct{})
	go func() {
		defer close(trackerDone)
		if err := tracker.Run(ctx); err != nil {
			t.Errorf("last-used tracker: %v", err)
		}
	}()

	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		cancel()
		<-trackerDone
	})
	return &env{client: authv1.NewAuthServiceClient(conn), conn: conn, svc: svc, store: store, nc: nc, ring: ring}
}

// tenant is an organization with a project and a key, bootstrapped directly.
type tenant struct {
	orgID, projectID string
	keyID, pk, sk    string
}

func (e *env) newTenant(t *testing.T) tenant {
	t.Helper()
	o, p, k, err := e.svc.Bootstrap(context.Background(), "org-"+uuid.NewString(), "default", "test")
	if err != nil {
		t.Fatal(err)
	}
	return tenant{orgID: o.ID.String(), projectID: p.ID.String(), keyID: k.Key.ID.String(), pk: k.Key.PublicKey, sk: k.Secret}
}

// as returns a context that authenticates as the key (Basic pk:sk).
func as(pk, sk string) context.Context {
	h := "Basic " + base64.StdEncoding.EncodeToString([]byte(pk+":"+sk))
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", h)
}

func (tn tenant) ctx() context.Context { return as(tn.pk, tn.sk) }

func bearer(sk string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+sk)
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
