package otlpapi

import (
	"context"
	"fmt"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
)

// Publishing an export stores it as bytes. Decoding it (to validate its
// spans) and encoding it again took about half of ingest's CPU; keeping the
// bytes as received saves the second half. gRPC's generated handler decodes
// into a bare ExportTraceServiceRequest and drops the bytes, so Register
// serves the TraceService with its own handler decoding into an
// exportRequest, and the server's codec (ServerOption) keeps the bytes for
// that type alone.

// exportRequest is an export request with the bytes it was decoded from (nil
// when served without ServerOption's codec). It is a proto.Message through
// the embedded request, so interceptors see the request.
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

// ServerOption makes a server keep the bytes of the exports it decodes;
// every other message goes through gRPC's proto codec unchanged.
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
	// A copy: data's buffers return to gRPC's pool after the call.
	req.raw = data.Materialize()
	if err := proto.Unmarshal(req.raw, req.ExportTraceServiceRequest); err != nil {
		req.raw = nil
		return fmt.Errorf("failed to unmarshal, message is %T: %w", req.ExportTraceServiceRequest, err)
	}
	return nil
}
