package rest

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// jsonMarshaler is JSONPb with the REST conventions (proto field names,
// unset fields omitted, unknown fields ignored), a stricter decoder, and its
// own encoder for responses (encode.go: 64-bit integers as JSON numbers
// where that is exact, empty lists as []). Requests are read by protojson,
// which accepts a 64-bit integer as a number or a string.
type jsonMarshaler struct {
	*runtime.JSONPb
}

func newJSONMarshaler() jsonMarshaler {
	return jsonMarshaler{&runtime.JSONPb{
		MarshalOptions:   protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: false},
		UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: true},
	}}
}

// Marshal encodes a response message with marshalResponse. Other values
// (grpc-gateway wraps a streamed message as {"result": msg} and a stream's
// error as {"error": status}) are objects whose message values are encoded
// the same way; anything else is left to JSONPb.
func (m jsonMarshaler) Marshal(v any) ([]byte, error) {
	switch v := v.(type) {
	case proto.Message:
		return marshalResponse(v)
	case map[string]any:
		return m.marshalObject(v)
	case map[string]proto.Message:
		obj := make(map[string]any, len(v))
		for k, msg := range v {
			obj[k] = msg
		}
		return m.marshalObject(obj)
	}
	return m.JSONPb.Marshal(v)
}

func (m jsonMarshaler) marshalObject(obj map[string]any) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, k := range slices.Sorted(maps.Keys(obj)) {
		if i > 0 {
			buf.WriteByte(',')
		}
		name, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		buf.Write(name)
		buf.WriteByte(':')
		val, err := m.Marshal(obj[k])
		if err != nil {
			return nil, err
		}
		buf.Write(val)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// NewEncoder writes each value as Marshal does, with a newline after it.
func (m jsonMarshaler) NewEncoder(w io.Writer) runtime.Encoder {
	return runtime.EncoderFunc(func(v any) error {
		b, err := m.Marshal(v)
		if err != nil {
			return err
		}
		_, err = w.Write(append(b, '\n'))
		return err
	})
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
