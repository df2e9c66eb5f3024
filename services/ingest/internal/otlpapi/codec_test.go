package otlpapi

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/agenttrace/agenttrace/pkg/authn"
	"github.com/agenttrace/agenttrace/pkg/grpctest"
	"github.com/agenttrace/agenttrace/services/ingest/internal/otlpingest"
)

// rawPublisher records what it is handed.
type rawPublisher struct {
	req *coltracepb.ExportTraceServiceRequest
	raw []byte
}

func (p *rawPublisher) PublishExport(_ context.Context, _ string, _ *timestamppb.Timestamp, exp otlpingest.Export) (err error) {
	p.raw = exp.Raw
	p.req, err = exp.Request()
	return err
}

// serve starts Register's TraceService with opts behind an interceptor that
// authenticates every call as a project's key and checks that it sees the
// request as a proto message.
func serve(t *testing.T, pub otlpingest.Publisher, opts ...grpc.ServerOption) *grpc.ClientConn {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	asProject := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if _, ok := req.(proto.Message); !ok {
			return nil, status.Errorf(codes.Internal, "interceptor saw a %T", req)
		}
		return handler(authn.WithPrincipal(ctx, authn.Principal{ProjectID: "proj"}), req)
	}
	gs := grpc.NewServer(append(opts, grpc.UnaryInterceptor(asProject))...)
	Register(gs, NewServer(otlpingest.NewService(otlpingest.Config{Publisher: pub, Limits: otlpingest.DefaultLimits(), Log: log}), log))
	lis := bufconn.Listen(1 << 20)
	grpctest.Serve(t, gs, lis)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func TestServerKeepsTheBytesAsReceived(t *testing.T) {
	plain := exportOf(span(true))
	// An unknown field the decoder keeps and a new encoding of the decoded
	// request would put elsewhere: the bytes handed on are the client's.
	unusual := exportOf(span(true))
	unusual.ProtoReflect().SetUnknown(protowire.AppendVarint(protowire.AppendTag(nil, 99, protowire.VarintType), 7))
	for _, tt := range []struct {
		name string
		req  *coltracepb.ExportTraceServiceRequest
		opts []grpc.CallOption
	}{
		{"scanned", plain, nil},
		{"scanned, gzip", plain, []grpc.CallOption{grpc.UseCompressor(gzip.Name)}},
		{"decoded", unusual, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sent, err := proto.Marshal(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			pub := &rawPublisher{}
			client := coltracepb.NewTraceServiceClient(serve(t, pub, ServerOption()))
			if _, err := client.Export(context.Background(), tt.req, tt.opts...); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(pub.raw, sent) {
				t.Errorf("publisher got %d bytes, want the %d sent", len(pub.raw), len(sent))
			}
			if !proto.Equal(pub.req, tt.req) {
				t.Errorf("publisher got request %v, want %v", pub.req, tt.req)
			}
		})
	}

	t.Run("without the codec", func(t *testing.T) {
		pub := &rawPublisher{}
		client := coltracepb.NewTraceServiceClient(serve(t, pub))
		if _, err := client.Export(context.Background(), unusual); err != nil {
			t.Fatal(err)
		}
		if pub.raw != nil || !proto.Equal(pub.req, unusual) {
			t.Errorf("publisher got %d bytes and %v, want no bytes and the request", len(pub.raw), pub.req)
		}
	})
}

// rawCodec sends a test's bytes as they are.
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(v.([]byte))}, nil
}
func (rawCodec) Unmarshal(mem.BufferSlice, any) error { return nil }
func (rawCodec) Name() string                         { return "proto" }

func TestServerRefusesUndecodableExports(t *testing.T) {
	pub := &rawPublisher{}
	conn := serve(t, pub, ServerOption())
	// resource_spans announcing 100 bytes of which 2 follow.
	garbage := append(protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.BytesType), 100), 1, 2)
	var resp []byte
	err := conn.Invoke(context.Background(), exportMethod, garbage, &resp, grpc.ForceCodecV2(rawCodec{}))
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("Export(garbage) = %v, want InvalidArgument", err)
	}
	if pub.req != nil {
		t.Error("an undecodable export reached the publisher")
	}
}
