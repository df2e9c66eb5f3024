package rest

import (
	"bytes"
	"io"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// jsonMarshaler is JSONPb with the REST conventions (proto field names,
// unset fields omitted, unknown fields ignored) and a stricter decoder.
type jsonMarshaler struct {
	*runtime.JSONPb
}

func newJSONMarshaler() jsonMarshaler {
	return jsonMarshaler{&runtime.JSONPb{
		MarshalOptions:   protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: false},
		UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: true},
	}}
}

// NewDecoder decodes a whole body as one JSON document. JSONPb's own decoder
// reads a single value from a stream and ignores whatever follows it, so
// `{...} garbage` would pass; here trailing data is an error. Errors say the
// body is at fault, because grpc-gateway makes the decoder's message the
// INVALID_ARGUMENT message and a bare "unexpected EOF" names nothing.
func (m jsonMarshaler) NewDecoder(r io.Reader) runtime.Decoder {
	return runtime.DecoderFunc(func(v any) error {
		data, err := io.ReadAll(r)
		if err != nil {
			return malformedBodyError{err}
		}
		return m.decode(data, v)
	})
}

func (m jsonMarshaler) decode(data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return io.EOF // an empty body is an empty request, as grpc-gateway expects
	}
	var err error
	if msg, ok := v.(proto.Message); ok {
		err = m.UnmarshalOptions.Unmarshal(data, msg)
	} else {
		err = m.JSONPb.Unmarshal(data, v)
	}
	if err != nil {
		return malformedBodyError{err}
	}
	return nil
}

type malformedBodyError struct{ err error }

func (e malformedBodyError) Error() string {
	// protobuf spells its prefix with a space or a no-break space at random.
	msg := strings.TrimLeft(strings.TrimPrefix(e.err.Error(), "proto:"), " \u00a0")
	return "malformed JSON body: " + msg
}

func (e malformedBodyError) Unwrap() error { return e.err }
