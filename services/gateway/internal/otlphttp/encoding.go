package otlphttp

import (
	"mime"
	"strings"

	"google.golang.org/grpc"
	grpcencoding "google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// Content types of OTLP/HTTP.
const (
	contentTypeProtobuf = "application/x-protobuf"
	contentTypeJSON     = "application/json"
)

// encoding is one of OTLP/HTTP's two payload encodings; responses use the
// request's.
type encoding struct {
	contentType string
	// request turns a body into what is sent to ingest: the body itself
	// for protobuf (ingest checks it), the decoded request for JSON.
	request func([]byte) (any, error)
	encode  func(proto.Message) ([]byte, error)
}

var (
	protobufEncoding = &encoding{contentType: contentTypeProtobuf, request: forwardProtobuf, encode: proto.Marshal}
	jsonEncoding     = &encoding{contentType: contentTypeJSON, request: decodeJSONRequest, encode: protojson.Marshal}
)

// forwardProtobuf passes a protobuf body on as it is: ingest checks it in
// its encoding and stores it as it is when every span is valid, so decoding
// it here and encoding it again would only cost CPU twice. A body that is
// not an ExportTraceServiceRequest is refused by ingest (InvalidArgument,
// answered 400).
func forwardProtobuf(body []byte) (any, error) { return encodedRequest(body), nil }

func decodeJSONRequest(body []byte) (any, error) { return DecodeJSON(body) }

// encodingOf picks the encoding of a Content-Type. For a type it does not
// serve it returns JSON (the encoding errors are then written in) and false.
func encodingOf(contentType string) (*encoding, bool) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return jsonEncoding, false
	}
	switch strings.ToLower(mt) {
	case contentTypeProtobuf:
		return protobufEncoding, true
	case contentTypeJSON:
		return jsonEncoding, true
	}
	return jsonEncoding, false
}

// encodedRequest is an ExportTraceServiceRequest already encoded; the
// codec sends it as it is.
type encodedRequest []byte

// codec is gRPC's proto codec, sending an encodedRequest's bytes as they are.
type codec struct {
	grpcencoding.CodecV2
}

func (c codec) Marshal(v any) (mem.BufferSlice, error) {
	if b, ok := v.(encodedRequest); ok {
		return mem.BufferSlice{mem.SliceBuffer(b)}, nil
	}
	return c.CodecV2.Marshal(v)
}

// callCodec is the codec of every call to ingest's TraceService.
var callCodec = grpc.ForceCodecV2(codec{grpcencoding.GetCodecV2(grpcproto.Name)})
