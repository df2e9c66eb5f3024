package rest

import (
	"cmp"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// The response encoding is proto3 JSON (as protojson writes it with proto
// field names) with two differences that make the REST API easier to use
// from JavaScript and typed clients:
//
//   - 64-bit integers (int64, uint64, sint64, fixed64, sfixed64, and the
//     Int64Value/UInt64Value wrappers), wherever they occur (fields,
//     repeated fields, map values), are JSON numbers when |v| <= 2^53-1
//     (Number.MAX_SAFE_INTEGER, so a JavaScript client reads them
//     exactly) and JSON strings beyond, as proto3 JSON writes every one.
//     Map keys stay strings, as JSON requires.
//   - An empty repeated field is written as [] rather than left out, so a
//     client can iterate a list without checking it is there. Every other
//     unset field (scalars at their zero value, absent messages, empty
//     maps) is still left out.
//
// The encoder walks the message with protoreflect and appends to a pooled
// buffer: one pass and, for a whole response, one allocation for the
// result. Output is compact and deterministic (fields in declaration
// order, map keys sorted), unlike protojson's, which varies its spacing.

// maxSafeInteger is the largest integer a float64 (a JavaScript number)
// holds exactly, along with every integer below it.
const maxSafeInteger = 1<<53 - 1

// Bounds proto3 JSON sets on Timestamp and Duration (as protojson).
const (
	minTimestampSeconds = -62135596800 // 0001-01-01T00:00:00Z
	maxTimestampSeconds = 253402300799 // 9999-12-31T23:59:59Z
	maxDurationSeconds  = 315576000000 // 10,000 years
	maxNanos            = 999999999
)

// A pooled encoder keeps its buffer up to this size between responses.
const maxPooledBuffer = 1 << 20

var encoderPool = sync.Pool{New: func() any { return new(encoder) }}

type encoder struct {
	buf []byte
	// entries and keys are the scratch space for sorting map entries (and
	// Go map keys); a nested map sorts its own beyond the end of its
	// parent's.
	entries []mapEntry
	keys    []string
}

type mapEntry struct {
	key protoreflect.MapKey
	val protoreflect.Value
}

// marshalResponse encodes a message in the REST API's JSON.
func marshalResponse(m proto.Message) ([]byte, error) {
	e := encoderPool.Get().(*encoder)
	e.buf = e.buf[:0]
	err := e.message(m.ProtoReflect(), "")
	var out []byte
	if err == nil {
		out = slices.Clone(e.buf)
	}
	if cap(e.buf) <= maxPooledBuffer {
		clear(e.entries[:cap(e.entries)]) // drop references to the message
		clear(e.keys[:cap(e.keys)])
		e.entries, e.keys = e.entries[:0], e.keys[:0]
		encoderPool.Put(e)
	}
	return out, err
}

// message writes m as a JSON object, or in its own form if it is a well-known
// type. typeURL, when set, is written first as "@type" (m is an Any's value).
func (e *encoder) message(m protoreflect.Message, typeURL string) error {
	if !m.IsValid() { // a nil message, as protojson writes it
		if typeURL != "" {
			e.buf = append(e.buf, `{"@type":`...)
			if err := e.string(typeURL); err != nil {
				return err
			}
			e.buf = append(e.buf, '}')
			return nil
		}
		e.buf = append(e.buf, "{}"...)
		return nil
	}
	if typeURL == "" {
		if ok, err := e.fastMessage(m); ok {
			return err
		}
	}
	md := m.Descriptor()
	if wkt := wellKnown(md.FullName()); wkt != nil {
		if typeURL == "" {
			return wkt(e, m)
		}
		e.buf = append(e.buf, `{"@type":`...)
		if err := e.string(typeURL); err != nil {
			return err
		}
		e.buf = append(e.buf, `,"value":`...)
		if err := wkt(e, m); err != nil {
			return err
		}
		e.buf = append(e.buf, '}')
		return nil
	}
	e.buf = append(e.buf, '{')
	first := true
	if typeURL != "" {
		e.buf = append(e.buf, `"@type":`...)
		if err := e.string(typeURL); err != nil {
			return err
		}
		first = false
	}
	fields := md.Fields()
	for i, n := 0, fields.Len(); i < n; i++ {
		fd := fields.Get(i)
		has := m.Has(fd)
		if !has && !fd.IsList() {
			continue
		}
		if !first {
			e.buf = append(e.buf, ',')
		}
		first = false
		e.buf = append(e.buf, '"')
		e.buf = append(e.buf, fd.TextName()...) // proto names need no escaping
		e.buf = append(e.buf, '"', ':')
		var err error
		switch {
		case fd.IsList():
			if has {
				err = e.list(m.Get(fd).List(), fd)
			} else {
				e.buf = append(e.buf, "[]"...)
			}
		case fd.IsMap():
			var done bool
			if done, err = e.fastMap(m, fd); !done && err == nil {
				err = e.mapValue(m.Get(fd).Map(), fd)
			}
		default:
			err = e.singular(m.Get(fd), fd)
		}
		if err != nil {
			return err
		}
	}
	if md.ExtensionRanges().Len() > 0 {
		if err := e.extensions(m, first); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, '}')
	return nil
}

// extensions writes the extension fields (none in this API's protos), after
// the others as protojson does.
func (e *encoder) extensions(m protoreflect.Message, first bool) error {
	var err error
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if !fd.IsExtension() {
			return true
		}
		if !first {
			e.buf = append(e.buf, ',')
		}
		first = false
		e.buf = append(e.buf, '"', '[')
		e.buf = append(e.buf, fd.FullName()...)
		e.buf = append(e.buf, ']', '"', ':')
		if fd.IsList() {
			err = e.list(v.List(), fd)
		} else {
			err = e.singular(v, fd)
		}
		return err == nil
	})
	return err
}

func (e *encoder) list(l protoreflect.List, fd protoreflect.FieldDescriptor) error {
	e.buf = append(e.buf, '[')
	for i, n := 0, l.Len(); i < n; i++ {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		if err := e.singular(l.Get(i), fd); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, ']')
	return nil
}

// mapValue writes a map as an object with its keys in order (protojson's
// order: false before true, numbers ascending, strings bytewise).
func (e *encoder) mapValue(mp protoreflect.Map, fd protoreflect.FieldDescriptor) error {
	start := len(e.entries)
	mp.Range(func(k protoreflect.MapKey, v protoreflect.Value) bool {
		e.entries = append(e.entries, mapEntry{k, v})
		return true
	})
	end := len(e.entries)
	sortEntries(e.entries[start:end], fd.MapKey().Kind())
	e.buf = append(e.buf, '{')
	vfd := fd.MapValue()
	for i := start; i < end; i++ {
		// e.entries may grow (and move) while a value is written, so it is
		// indexed afresh each time.
		ent := e.entries[i]
		if i > start {
			e.buf = append(e.buf, ',')
		}
		if err := e.string(ent.key.String()); err != nil {
			return err
		}
		e.buf = append(e.buf, ':')
		if err := e.singular(ent.val, vfd); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, '}')
	clear(e.entries[start:end])
	e.entries = e.entries[:start]
	return nil
}

func sortEntries(ents []mapEntry, kind protoreflect.Kind) {
	switch kind {
	case protoreflect.BoolKind:
		slices.SortFunc(ents, func(a, b mapEntry) int {
			x, y := a.key.Bool(), b.key.Bool()
			switch {
			case x == y:
				return 0
			case !x:
				return -1
			default:
				return 1
			}
		})
	case protoreflect.StringKind:
		slices.SortFunc(ents, func(a, b mapEntry) int { return strings.Compare(a.key.String(), b.key.String()) })
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		slices.SortFunc(ents, func(a, b mapEntry) int { return cmp.Compare(a.key.Uint(), b.key.Uint()) })
	default: // signed integers
		slices.SortFunc(ents, func(a, b mapEntry) int { return cmp.Compare(a.key.Int(), b.key.Int()) })
	}
}

// singular writes one value of a field: the field's own, a list element or
// a map value.
func (e *encoder) singular(v protoreflect.Value, fd protoreflect.FieldDescriptor) error {
	if !v.IsValid() {
		e.buf = append(e.buf, "null"...)
		return nil
	}
	switch fd.Kind() {
	case protoreflect.BoolKind:
		e.buf = strconv.AppendBool(e.buf, v.Bool())
	case protoreflect.StringKind:
		return e.string(v.String())
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		e.buf = strconv.AppendInt(e.buf, v.Int(), 10)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		e.buf = strconv.AppendUint(e.buf, v.Uint(), 10)
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		e.int64(v.Int())
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		e.uint64(v.Uint())
	case protoreflect.FloatKind:
		e.float(v.Float(), 32)
	case protoreflect.DoubleKind:
		e.float(v.Float(), 64)
	case protoreflect.BytesKind:
		e.buf = append(e.buf, '"')
		e.buf = base64.StdEncoding.AppendEncode(e.buf, v.Bytes())
		e.buf = append(e.buf, '"')
	case protoreflect.EnumKind:
		if fd.Enum().FullName() == "google.protobuf.NullValue" {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			e.buf = append(e.buf, '"')
			e.buf = append(e.buf, ev.Name()...) // identifiers need no escaping
			e.buf = append(e.buf, '"')
		} else {
			e.buf = strconv.AppendInt(e.buf, int64(v.Enum()), 10)
		}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return e.message(v.Message(), "")
	default:
		return fmt.Errorf("encode %s: unknown kind %v", fd.FullName(), fd.Kind())
	}
	return nil
}

func (e *encoder) int64(n int64) {
	if -maxSafeInteger <= n && n <= maxSafeInteger {
		e.buf = strconv.AppendInt(e.buf, n, 10)
		return
	}
	e.buf = append(e.buf, '"')
	e.buf = strconv.AppendInt(e.buf, n, 10)
	e.buf = append(e.buf, '"')
}

func (e *encoder) uint64(n uint64) {
	if n <= maxSafeInteger {
		e.buf = strconv.AppendUint(e.buf, n, 10)
		return
	}
	e.buf = append(e.buf, '"')
	e.buf = strconv.AppendUint(e.buf, n, 10)
	e.buf = append(e.buf, '"')
}

// float writes a float as protojson does: encoding/json's number format,
// and the strings "NaN", "Infinity" and "-Infinity" for the rest.
func (e *encoder) float(n float64, bitSize int) {
	switch {
	case math.IsNaN(n):
		e.buf = append(e.buf, `"NaN"`...)
		return
	case math.IsInf(n, 1):
		e.buf = append(e.buf, `"Infinity"`...)
		return
	case math.IsInf(n, -1):
		e.buf = append(e.buf, `"-Infinity"`...)
		return
	}
	format := byte('f')
	if abs := math.Abs(n); abs != 0 {
		if bitSize == 64 && (abs < 1e-6 || abs >= 1e21) ||
			bitSize == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	e.buf = strconv.AppendFloat(e.buf, n, format, -1, bitSize)
	if format == 'e' { // 1e-07, not 1e-007... and 1e-7 rather than 1e-07
		n := len(e.buf)
		if n >= 4 && e.buf[n-4] == 'e' && e.buf[n-3] == '-' && e.buf[n-2] == '0' {
			e.buf[n-2] = e.buf[n-1]
			e.buf = e.buf[:n-1]
		}
	}
}

var errInvalidUTF8 = errors.New("string field contains invalid UTF-8")

// string writes s as a JSON string, escaping what protojson escapes (quote,
// backslash, control characters) and refusing invalid UTF-8 as it does.
func (e *encoder) string(s string) error {
	e.buf = append(e.buf, '"')
	for len(s) > 0 {
		i := 0
		for i < len(s) {
			c := s[i]
			if c < utf8.RuneSelf {
				if c < ' ' || c == '"' || c == '\\' {
					break
				}
				i++
				continue
			}
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				return errInvalidUTF8
			}
			i += n
		}
		e.buf = append(e.buf, s[:i]...)
		if i == len(s) {
			break
		}
		c := s[i]
		e.buf = append(e.buf, '\\')
		switch c {
		case '"', '\\':
			e.buf = append(e.buf, c)
		case '\b':
			e.buf = append(e.buf, 'b')
		case '\f':
			e.buf = append(e.buf, 'f')
		case '\n':
			e.buf = append(e.buf, 'n')
		case '\r':
			e.buf = append(e.buf, 'r')
		case '\t':
			e.buf = append(e.buf, 't')
		default:
			e.buf = append(e.buf, 'u')
			e.buf = append(e.buf, "0000"[1+(bits.Len32(uint32(c))-1)/4:]...)
			e.buf = strconv.AppendUint(e.buf, uint64(c), 16)
		}
		s = s[i+1:]
	}
	e.buf = append(e.buf, '"')
	return nil
}

// wellKnown returns the writer of a well-known type with its own JSON form.
func wellKnown(name protoreflect.FullName) func(*encoder, protoreflect.Message) error {
	if !strings.HasPrefix(string(name), "google.protobuf.") {
		return nil
	}
	switch name {
	case "google.protobuf.Timestamp":
		return (*encoder).timestamp
	case "google.protobuf.Duration":
		return (*encoder).duration
	case "google.protobuf.Struct":
		return func(e *encoder, m protoreflect.Message) error {
			fd := m.Descriptor().Fields().ByNumber(1)
			return e.mapValue(m.Get(fd).Map(), fd)
		}
	case "google.protobuf.ListValue":
		return func(e *encoder, m protoreflect.Message) error {
			fd := m.Descriptor().Fields().ByNumber(1)
			return e.list(m.Get(fd).List(), fd)
		}
	case "google.protobuf.Value":
		return (*encoder).value
	case "google.protobuf.Empty":
		return func(e *encoder, _ protoreflect.Message) error {
			e.buf = append(e.buf, "{}"...)
			return nil
		}
	case "google.protobuf.BoolValue", "google.protobuf.Int32Value", "google.protobuf.Int64Value",
		"google.protobuf.UInt32Value", "google.protobuf.UInt64Value", "google.protobuf.FloatValue",
		"google.protobuf.DoubleValue", "google.protobuf.StringValue", "google.protobuf.BytesValue":
		return func(e *encoder, m protoreflect.Message) error {
			fd := m.Descriptor().Fields().ByNumber(1)
			return e.singular(m.Get(fd), fd)
		}
	case "google.protobuf.FieldMask":
		return (*encoder).fieldMask
	case "google.protobuf.Any":
		return (*encoder).anyValue
	}
	return nil
}

func (e *encoder) timestamp(m protoreflect.Message) error {
	fds := m.Descriptor().Fields()
	return e.timestampOf(m.Get(fds.ByNumber(1)).Int(), m.Get(fds.ByNumber(2)).Int())
}

func (e *encoder) timestampOf(secs, nanos int64) error {
	if secs < minTimestampSeconds || secs > maxTimestampSeconds {
		return fmt.Errorf("google.protobuf.Timestamp: seconds out of range %d", secs)
	}
	if nanos < 0 || nanos > maxNanos {
		return fmt.Errorf("google.protobuf.Timestamp: nanos out of range %d", nanos)
	}
	// RFC 3339 in UTC with 0, 3, 6 or 9 fractional digits.
	e.buf = append(e.buf, '"')
	e.buf = time.Unix(secs, 0).UTC().AppendFormat(e.buf, "2006-01-02T15:04:05")
	e.fraction(nanos)
	e.buf = append(e.buf, 'Z', '"')
	return nil
}

func (e *encoder) duration(m protoreflect.Message) error {
	fds := m.Descriptor().Fields()
	secs, nanos := m.Get(fds.ByNumber(1)).Int(), m.Get(fds.ByNumber(2)).Int()
	if secs < -maxDurationSeconds || secs > maxDurationSeconds {
		return fmt.Errorf("google.protobuf.Duration: seconds out of range %d", secs)
	}
	if nanos < -maxNanos || nanos > maxNanos {
		return fmt.Errorf("google.protobuf.Duration: nanos out of range %d", nanos)
	}
	if (secs > 0 && nanos < 0) || (secs < 0 && nanos > 0) {
		return errors.New("google.protobuf.Duration: signs of seconds and nanos do not match")
	}
	e.buf = append(e.buf, '"')
	if secs < 0 || nanos < 0 {
		e.buf = append(e.buf, '-')
		secs, nanos = -secs, -nanos
	}
	e.buf = strconv.AppendInt(e.buf, secs, 10)
	e.fraction(nanos)
	e.buf = append(e.buf, 's', '"')
	return nil
}

// fraction writes nanoseconds as 0, 3, 6 or 9 fractional digits.
func (e *encoder) fraction(nanos int64) {
	if nanos == 0 {
		return
	}
	digits := 9
	for range 2 {
		if nanos%1000 != 0 {
			break
		}
		nanos /= 1000
		digits -= 3
	}
	e.buf = append(e.buf, '.')
	var tmp [9]byte
	for i := digits - 1; i >= 0; i-- {
		tmp[i] = byte('0' + nanos%10)
		nanos /= 10
	}
	e.buf = append(e.buf, tmp[:digits]...)
}

func (e *encoder) value(m protoreflect.Message) error {
	fd := m.WhichOneof(m.Descriptor().Oneofs().ByName("kind"))
	if fd == nil {
		return errors.New("google.protobuf.Value: none of the oneof fields is set")
	}
	v := m.Get(fd)
	if fd.Kind() == protoreflect.DoubleKind && (math.IsNaN(v.Float()) || math.IsInf(v.Float(), 0)) {
		return fmt.Errorf("google.protobuf.Value.number_value: invalid %v value", v.Float())
	}
	return e.singular(v, fd)
}

// fieldMask is left to protojson: a string of lowerCamelCase paths, with
// its checks that the paths convert both ways.
func (e *encoder) fieldMask(m protoreflect.Message) error {
	b, err := protojson.Marshal(m.Interface())
	if err != nil {
		return err
	}
	e.buf = append(e.buf, b...)
	return nil
}

// anyValue writes the packed message with "@type" first, resolving its type
// from the global registry (every type this binary links).
func (e *encoder) anyValue(m protoreflect.Message) error {
	fds := m.Descriptor().Fields()
	fdType, fdValue := fds.ByNumber(1), fds.ByNumber(2)
	if !m.Has(fdType) {
		if m.Has(fdValue) {
			return errors.New("google.protobuf.Any: type_url is not set")
		}
		e.buf = append(e.buf, "{}"...)
		return nil
	}
	typeURL := m.Get(fdType).String()
	mt, err := protoregistry.GlobalTypes.FindMessageByURL(typeURL)
	if err != nil {
		return fmt.Errorf("google.protobuf.Any: unable to resolve %q: %w", typeURL, err)
	}
	inner := mt.New()
	if err := (proto.UnmarshalOptions{AllowPartial: true}).Unmarshal(m.Get(fdValue).Bytes(), inner.Interface()); err != nil {
		return fmt.Errorf("google.protobuf.Any: unable to unmarshal %q: %w", typeURL, err)
	}
	return e.message(inner, typeURL)
}
