package otlphttp

import (
	"fmt"
	"mime"
	"strings"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
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
	decode      func([]byte) (*coltracepb.ExportTraceServiceRequest, error)
	encode      func(proto.Message) ([]byte, error)
}

var (
	protobufEncoding = &encoding{contentType: contentTypeProtobuf, decode: decodeProtobuf, encode: proto.Marshal}
	jsonEncoding     = &encoding{contentType: contentTypeJSON, decode: DecodeJSON, encode: protojson.Marshal}
)

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

func decodeProtobuf(body []byte) (*coltracepb.ExportTraceServiceRequest, error) {
	req := &coltracepb.ExportTraceServiceRequest{}
	if err := proto.Unmarshal(body, req); err != nil {
		return nil, fmt.Errorf("payload is not a protobuf ExportTraceServiceRequest: %w", err)
	}
	return req, nil
}
