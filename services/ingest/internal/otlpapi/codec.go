package otlpapi

import (
	"context"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
)

// Publishing an export stores it as bytes. Decoding every request (to
// validate its spans) and encoding it again took about a quarter of
// ingest's CPU each; the server keeps the bytes as received instead, and otlpingest
// checks them without decoding them (otlpingest.Scan) and publishes them as
// they are. gRPC's generated handler decodes into a bare
// ExportTraceServiceRequest, so Register serves the TraceService with its
// own handler decoding into an exportRequest, and the server's codec
// (ServerOption) keeps the bytes of that type alone, undecoded.

// exportRequest is an export request as received: its bytes (raw), or,
// when served without ServerOption's codec, the decoded request. It is a
// proto.Message through the embedded request (empty when raw is set), so
// interceptors see a message.
type exportRequest struct {
	*coltracepb.ExportTraceServiceRequest
	raw []byte
}

// Register serves srv as the TraceService on s.
func Register(s grpc.ServiceRegistrar, srv *Server) {
	s.RegisterService(&serviceDesc, srv)
}

// exportMethod is the full name interceptors see for Export.
const exportMethod = "/" + serviceName + "/Export"

const serviceName = "opentelemetry.proto.collector.trace.v1.TraceService"

// serviceDesc is coltracepb.TraceService_ServiceDesc with exportHandler.
var serviceDesc = grpc.ServiceDesc{
	ServiceName: serviceName,
	HandlerType: (*coltracepb.TraceServiceServer)(nil),
	Methods:     []grpc.MethodDesc{{MethodName: "Export", Handler: exportHandler}},
	Streams:     []grpc.StreamDesc{},
	Metadata:    coltracepb.TraceService_ServiceDesc.Metadata,
}

func exportHandler(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
	in := &exportRequest{ExportTraceServiceRequest: &coltracepb.ExportTraceServiceRequest{}}
	if err := dec(in); err != nil {
		return nil, err
	}
	s := srv.(*Server)
	if interceptor == nil {
		return s.export(ctx, in)
	}
	info := &grpc.UnaryServerInfo{Server: srv, FullMethod: exportMethod}
	return interceptor(ctx, in, info, func(ctx context.Context, req any) (any, error) {
		return s.export(ctx, req.(*exportRequest))
	})
}

// ServerOption makes a server keep the bytes of the exports it receives,
// undecoded; every other message goes through gRPC's proto codec as usual.
func ServerOption() grpc.ServerOption {
	return grpc.ForceServerCodecV2(codec{encoding.GetCodecV2(grpcproto.Name)})
}

// codec is gRPC's proto codec, keeping the bytes of an exportRequest.
type codec struct {
	encoding.CodecV2
}

func (c codec) Unmarshal(data mem.BufferSlice, v any) error {
	req, ok := v.(*exportRequest)
	if !ok {
		return c.CodecV2.Unmarshal(data, v)
	}
	// A copy: data's buffers return to gRPC's pool after the call. An
	// empty request is encoded as no bytes; raw stays non-nil for it.
	req.raw = make([]byte, data.Len())
	data.CopyTo(req.raw)
	return nil
}
