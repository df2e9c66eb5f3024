package transport

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"go.uber.org/goleak"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/agenttrace/agenttrace/pkg/authn"
	"github.com/agenttrace/agenttrace/pkg/clickhousedb"
	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
	"github.com/agenttrace/agenttrace/pkg/grpctest"
	"github.com/agenttrace/agenttrace/pkg/tcpproxy"
	"github.com/agenttrace/agenttrace/services/query/internal/chstore"
	"github.com/agenttrace/agenttrace/services/query/internal/chtest"
	"github.com/agenttrace/agenttrace/services/query/internal/query"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// keys stands in for the auth service: bearer secret -> project.
type keys map[string]string

func (k keys) Authenticate(_ context.Context, r authn.Request) (authn.Principal, error) {
	c, err := authn.ParseAuthorization(r.Authorization)
	if err != nil {
		return authn.Principal{}, err
	}
	if p, ok := k[c.SecretKey]; ok {
		return authn.Principal{ProjectID: p, PublicKey: "pk-" + p, Scopes: []authv1.APIKeyScope{authv1.APIKeyScope_API_KEY_SCOPE_READ}}, nil
	}
	return authn.Principal{}, authn.ErrInvalidCredentials
}

// serve runs the query service over loopback gRPC and returns a client.
func serve(t *testing.T, store query.Store, log *slog.Logger) queryv1.QueryServiceClient {
	t.Helper()
	v := keys{"sk-a": "proj-a", "sk-b": "proj-b"}
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(authn.UnaryServerInterceptor(v)))
	queryv1.RegisterQueryServiceServer(srv, New(query.New(store), log))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	grpctest.Serve(t, srv, lis)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return queryv1.NewQueryServiceClient(conn)
}

func as(secret string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+secret)
}

func TestServiceOverGRPC(t *testing.T) {
	conn := chtest.NewDB(t)
	chtest.InsertTraces(t, conn, chtest.Trace{ProjectID: "proj-a", ID: "t1", Name: "mine", EventTS: 1e18})
	client := serve(t, chstore.New(conn), slog.New(slog.NewTextHandler(io.Discard, nil)))

	resp, err := client.GetTrace(as("sk-a"), &queryv1.GetTraceRequest{TraceId: "t1"})
	if err != nil || resp.GetTrace().GetName() != "mine" || resp.GetTrace().GetProjectId() != "proj-a" {
		t.Fatalf("GetTrace as owner = %v, %v", resp, err)
	}
	list, err := client.ListTraces(as("sk-a"), &queryv1.ListTracesRequest{})
	if err != nil || len(list.GetTraces()) != 1 {
		t.Fatalf("ListTraces as owner = %v, %v", list, err)
	}

	tests := []struct {
		name  string
		call  func() error
		code  codes.Code
		field string
	}{
		{"other project cannot see it", func() error {
			_, err := client.GetTrace(as("sk-b"), &queryv1.GetTraceRequest{TraceId: "t1"})
			return err
		}, codes.NotFound, ""},
		{"other project lists nothing", func() error {
			l, err := client.ListTraces(as("sk-b"), &queryv1.ListTracesRequest{})
			if err == nil && len(l.GetTraces()) != 0 {
				return status.Error(codes.DataLoss, "leaked")
			}
			return err
		}, codes.OK, ""},
		{"no credentials", func() error {
			_, err := client.GetTrace(context.Background(), &queryv1.GetTraceRequest{TraceId: "t1"})
			return err
		}, codes.Unauthenticated, ""},
		{"unknown key", func() error {
			_, err := client.ListScores(as("sk-nope"), &queryv1.ListScoresRequest{})
			return err
		}, codes.Unauthenticated, ""},
		{"invalid argument names the field", func() error {
			_, err := client.ListObservations(as("sk-a"), &queryv1.ListObservationsRequest{PageSize: 5000})
			return err
		}, codes.InvalidArgument, "page_size"},
		{"bad token", func() error {
			_, err := client.ListSessions(as("sk-a"), &queryv1.ListSessionsRequest{PageToken: "x"})
			return err
		}, codes.InvalidArgument, "page_token"},
		{"missing session", func() error {
			_, err := client.GetSession(as("sk-a"), &queryv1.GetSessionRequest{SessionId: "s"})
			return err
		}, codes.NotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			st := status.Convert(err)
			if st.Code() != tt.code {
				t.Fatalf("code = %v (%v), want %v", st.Code(), err, tt.code)
			}
			if tt.field == "" {
				return
			}
			for _, d := range st.Details() {
				if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) == 1 && br.GetFieldViolations()[0].GetField() == tt.field {
					return
				}
			}
			t.Errorf("no BadRequest violation for %s in %v", tt.field, st.Details())
		})
	}
}

func TestStoreFailureIsInternalAndLogged(t *testing.T) {
	conn := chtest.NewDB(t)
	conn.Close() // every query now fails inside the store
	var logged strings.Builder
	client := serve(t, chstore.New(conn), slog.New(slog.NewTextHandler(&logged, nil)))
	_, err := client.ListTraces(as("sk-a"), &queryv1.ListTracesRequest{})
	st := status.Convert(err)
	if st.Code() != codes.Internal || st.Message() != "internal error" {
		t.Errorf("status = %v, want Internal with no detail", st)
	}
	if !strings.Contains(logged.String(), "query failed") || !strings.Contains(logged.String(), "ListTraces") {
		t.Errorf("the detail was not logged: %q", logged.String())
	}
}

func TestHandlerWithoutPrincipal(t *testing.T) {
	s := New(query.New(nil), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if _, err := s.GetTrace(context.Background(), &queryv1.GetTraceRequest{TraceId: "t"}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("err = %v, want Unauthenticated", err)
	}
}

func TestCancelledCall(t *testing.T) {
	conn := chtest.NewDB(t)
	s := New(query.New(chstore.New(conn)), slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(authn.WithPrincipal(context.Background(), authn.Principal{ProjectID: "p"}))
	cancel()
	if _, err := s.ListTraces(ctx, &queryv1.ListTracesRequest{}); status.Code(err) != codes.Canceled {
		t.Errorf("err = %v, want Canceled", err)
	}
}

// TestNotConnectedIsUnavailable: before ClickHouse (or its database) is
// there, calls fail with Unavailable, which clients retry, not Internal.
func TestNotConnectedIsUnavailable(t *testing.T) {
	ch := clickhousedb.NewBackground(clickhousedb.Config{}, nil)
	store := chstore.NewPending(ch)
	client := serve(t, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	_, err := client.GetTrace(as("sk-a"), &queryv1.GetTraceRequest{TraceId: "t1"})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("GetTrace before connecting = %v, want Unavailable", err)
	}
	if err := store.CheckSchema(context.Background()); !errors.Is(err, query.ErrNotConnected) {
		t.Fatalf("CheckSchema without a connection = %v, want ErrNotConnected", err)
	}
}

// TestSchemaMissingIsUnavailable: connected to a database whose migrations
// have not run yet, calls fail with Unavailable (retry), not Internal.
func TestSchemaMissingIsUnavailable(t *testing.T) {
	client := serve(t, chstore.New(chtest.NewEmptyDB(t)), slog.New(slog.NewTextHandler(io.Discard, nil)))
	calls := map[string]func() error{
		"GetTrace": func() error {
			_, err := client.GetTrace(as("sk-a"), &queryv1.GetTraceRequest{TraceId: "t1"})
			return err
		},
		"ListTraces": func() error { _, err := client.ListTraces(as("sk-a"), &queryv1.ListTracesRequest{}); return err },
		"ListScores": func() error { _, err := client.ListScores(as("sk-a"), &queryv1.ListScoresRequest{}); return err },
	}
	for name, call := range calls {
		if err := call(); status.Code(err) != codes.Unavailable {
			t.Errorf("%s without the schema = %v, want Unavailable", name, err)
		}
	}
}

// TestClickHouseGoneIsUnavailable: ClickHouse going away after the store
// connected is an outage (Unavailable), not a bug (Internal).
func TestClickHouseGoneIsUnavailable(t *testing.T) {
	chtest.NewDB(t) // the -short rule and a server to reach
	addr, err := tcpproxy.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	proxy := tcpproxy.Start(addr, chtest.Config().Addr, 0)
	cfg := chtest.Config()
	cfg.Addr, cfg.Database, cfg.DialTimeout = addr, "default", time.Second
	var conn driver.Conn
	for range 50 { // until the proxy listens
		if conn, err = clickhousedb.Open(context.Background(), cfg, ""); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := serve(t, chstore.New(conn), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := proxy.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = client.ListTraces(as("sk-a"), &queryv1.ListTracesRequest{})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("ListTraces with ClickHouse gone = %v, want Unavailable", err)
	}
}
