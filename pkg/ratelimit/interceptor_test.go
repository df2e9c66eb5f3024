package ratelimit

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/agenttrace/agenttrace/pkg/authn"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
	"github.com/agenttrace/agenttrace/pkg/grpctest"
)

// fakeAuth stands in for authentication, which is not under test: it reads
// the caller from "test-principal: kind/id/project" metadata.
func fakeAuth(ctx context.Context) context.Context {
	md, _ := metadata.FromIncomingContext(ctx)
	v := md.Get("test-principal")
	if len(v) == 0 {
		return ctx
	}
	kind, rest, _ := strings.Cut(v[0], "/")
	id, project, _ := strings.Cut(rest, "/")
	p := authn.Principal{ProjectID: project}
	switch kind {
	case "key":
		p.Kind, p.KeyID = authn.KindAPIKey, id
	case "user":
		p.Kind, p.UserID = authn.KindUser, id
	case "service":
		p.Kind, p.Service = authn.KindService, id
	}
	return authn.WithPrincipal(ctx, p)
}

type ingestServer struct {
	ingestv1.UnimplementedIngestServiceServer
}

func (ingestServer) IngestBatch(context.Context, *ingestv1.IngestBatchRequest) (*ingestv1.IngestBatchResponse, error) {
	return &ingestv1.IngestBatchResponse{}, nil
}

type queryServer struct {
	queryv1.UnimplementedQueryServiceServer
}

func (queryServer) GetTrace(context.Context, *queryv1.GetTraceRequest) (*queryv1.GetTraceResponse, error) {
	return &queryv1.GetTraceResponse{}, nil
}

// tailDesc is a streaming method in the query service's namespace: the
// real services have none yet, but the stream interceptor must hold when
// they do.
var tailDesc = grpc.ServiceDesc{
	ServiceName: queryv1.QueryService_ServiceDesc.ServiceName,
	HandlerType: (*any)(nil),
	Streams: []grpc.StreamDesc{{
		StreamName:    "Tail",
		ServerStreams: true,
		Handler: func(_ any, ss grpc.ServerStream) error {
			return ss.SendMsg(&emptypb.Empty{})
		},
	}},
}

const tailMethod = "/agenttrace.query.v1.QueryService/Tail"

// serve runs a gRPC server with fake authentication followed by lim's
// interceptors on a real listener and returns a client connection to it.
func serve(t *testing.T, lim *Limiter, register func(*grpc.Server)) *grpc.ClientConn {
	t.Helper()
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(
			func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
				return h(fakeAuth(ctx), req)
			},
			lim.UnaryServerInterceptor(),
		),
		grpc.ChainStreamInterceptor(
			func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
				return h(srv, &authedStream{ServerStream: ss, ctx: fakeAuth(ss.Context())})
			},
			lim.StreamServerInterceptor(),
		),
	)
	register(srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	grpctest.Serve(t, srv, ln)
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
	})
	return conn
}

type authedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *authedStream) Context() context.Context { return s.ctx }

// hourly limits make the scenario independent of how fast the machine
// runs it: nothing refills while it does.
func hourly(burst int) Limit { return Limit{Rate: 1, Burst: burst, Period: time.Hour} }

func TestInterceptorLimitsPerProjectKeyAndClass(t *testing.T) {
	lim := newRedisLimiter(t, testConfig(t))
	lim.limits = Limits{
		IngestProject: hourly(3), IngestKey: hourly(2),
		QueryProject: hourly(5), QueryKey: hourly(1),
	}
	conn := serve(t, lim, func(s *grpc.Server) {
		ingestv1.RegisterIngestServiceServer(s, ingestServer{})
		queryv1.RegisterQueryServiceServer(s, queryServer{})
		healthpb.RegisterHealthServer(s, health.NewServer())
	})
	ingest := ingestv1.NewIngestServiceClient(conn)
	query := queryv1.NewQueryServiceClient(conn)
	healthClient := healthpb.NewHealthClient(conn)

	// Steps run in order against one server; each builds on the last.
	steps := []struct {
		name   string
		call   string // ingest, query or health
		caller string
		code   codes.Code
		// limit/remaining/reset/retry are the expected headers; "" means absent.
		limit, remaining, reset, retry string
	}{
		{"key is tightest", "ingest", "key/A/P", codes.OK, "2", "1", "3600", ""},
		{"key spent", "ingest", "key/A/P", codes.OK, "2", "0", "7200", ""},
		{"key refused", "ingest", "key/A/P", codes.ResourceExhausted, "2", "0", "7200", "3600"},
		{"other key, project tightest", "ingest", "key/B/P", codes.OK, "3", "0", "10800", ""},
		{"project refused", "ingest", "key/C/P", codes.ResourceExhausted, "3", "0", "10800", "3600"},
		{"other project", "ingest", "key/D/Q", codes.OK, "2", "1", "3600", ""},
		{"queries counted apart", "query", "key/A/P", codes.OK, "1", "0", "3600", ""},
		{"query key refused", "query", "key/A/P", codes.ResourceExhausted, "1", "0", "3600", "3600"},
		{"users limited per user", "query", "user/U/P", codes.OK, "1", "0", "3600", ""},
		{"user refused", "query", "user/U/P", codes.ResourceExhausted, "1", "0", "3600", "3600"},
		{"services not limited", "ingest", "service/worker/P", codes.OK, "", "", "", ""},
		{"unauthenticated calls pass", "ingest", "", codes.OK, "", "", "", ""},
		{"other methods not limited", "health", "key/A/P", codes.OK, "", "", "", ""},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			ctx := context.Background()
			if st.caller != "" {
				ctx = metadata.AppendToOutgoingContext(ctx, "test-principal", st.caller)
			}
			var hdr metadata.MD
			var err error
			switch st.call {
			case "ingest":
				_, err = ingest.IngestBatch(ctx, &ingestv1.IngestBatchRequest{}, grpc.Header(&hdr))
			case "query":
				_, err = query.GetTrace(ctx, &queryv1.GetTraceRequest{}, grpc.Header(&hdr))
			case "health":
				_, err = healthClient.Check(ctx, &healthpb.HealthCheckRequest{}, grpc.Header(&hdr))
			}
			if got := status.Code(err); got != st.code {
				t.Fatalf("code %v (%v), want %v", got, err, st.code)
			}
			for name, want := range map[string]string{
				HeaderLimit: st.limit, HeaderRemaining: st.remaining, HeaderReset: st.reset, HeaderRetryAfter: st.retry,
			} {
				if got := strings.Join(hdr.Get(name), ","); got != want {
					t.Errorf("header %s = %q, want %q", name, got, want)
				}
			}
			if st.code == codes.ResourceExhausted {
				checkRetryInfo(t, err, time.Hour)
			}
		})
	}
	for _, tc := range []struct {
		class, outcome string
		want           float64
	}{{"ingest", "allowed", 4}, {"ingest", "limited", 2}, {"query", "allowed", 2}, {"query", "limited", 2}} {
		if got := testCounter(t, lim.m.decisions.WithLabelValues(tc.class, tc.outcome)); got != tc.want {
			t.Errorf("decisions{%s,%s} = %v, want %v", tc.class, tc.outcome, got, tc.want)
		}
	}
}

// checkRetryInfo asserts that err carries a RetryInfo of about want.
func checkRetryInfo(t *testing.T, err error, want time.Duration) {
	t.Helper()
	for _, d := range status.Convert(err).Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			if got := ri.GetRetryDelay().AsDuration(); got < want-time.Second || got > want {
				t.Errorf("retry delay %v, want about %v", got, want)
			}
			return
		}
	}
	t.Errorf("no RetryInfo in %v", err)
}

func TestStreamInterceptor(t *testing.T) {
	lim := newRedisLimiter(t, testConfig(t))
	lim.limits = Limits{QueryKey: hourly(1)}
	conn := serve(t, lim, func(s *grpc.Server) { s.RegisterService(&tailDesc, nil) })
	ctx := metadata.AppendToOutgoingContext(context.Background(), "test-principal", "key/S/P")

	tests := []struct {
		name      string
		code      codes.Code
		remaining string
	}{
		{"allowed", codes.OK, "0"},
		{"refused", codes.ResourceExhausted, "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, err := conn.NewStream(ctx, &tailDesc.Streams[0], tailMethod)
			if err != nil {
				t.Fatal(err)
			}
			if err := cs.CloseSend(); err != nil {
				t.Fatal(err)
			}
			hdr, err := cs.Header()
			if err != nil && status.Code(err) != tt.code {
				t.Fatalf("header: %v", err)
			}
			var got emptypb.Empty
			err = cs.RecvMsg(&got)
			if status.Code(err) != tt.code {
				t.Fatalf("recv: %v, want %v", err, tt.code)
			}
			if r := hdr.Get(HeaderRemaining); len(r) != 1 || r[0] != tt.remaining {
				t.Errorf("remaining header %v, want %s", r, tt.remaining)
			}
			if tt.code == codes.ResourceExhausted {
				checkRetryInfo(t, err, time.Hour)
			}
		})
	}
}

func TestInterceptorsFollowEnabled(t *testing.T) {
	for _, enabled := range []bool{true, false} {
		t.Run(fmt.Sprint("enabled=", enabled), func(t *testing.T) {
			cfg := testConfig(t)
			cfg.Enabled = enabled
			lim, err := New(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer lim.Close(context.Background())
			u, s := lim.interceptors()
			if (u != nil) != enabled || (s != nil) != enabled {
				t.Errorf("interceptors installed: unary %v, stream %v; want %v", u != nil, s != nil, enabled)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		method string
		class  Class
		ok     bool
	}{
		{ingestv1.IngestService_IngestBatch_FullMethodName, ClassIngest, true},
		{ingestv1.IngestService_DeleteTrace_FullMethodName, ClassIngest, true},
		{"/opentelemetry.proto.collector.trace.v1.TraceService/Export", ClassIngest, true},
		{queryv1.QueryService_GetTrace_FullMethodName, ClassQuery, true},
		{queryv1.QueryService_ListScores_FullMethodName, ClassQuery, true},
		{"/agenttrace.auth.v1.AuthService/ValidateAPIKey", "", false},
		{"/grpc.health.v1.Health/Check", "", false},
		{"/agenttrace.ingest.v1.IngestServiceX/IngestBatch", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			c, ok := Classify(tt.method)
			if c != tt.class || ok != tt.ok {
				t.Errorf("Classify = %q, %v; want %q, %v", c, ok, tt.class, tt.ok)
			}
		})
	}
}
