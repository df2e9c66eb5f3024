package chschema

import (
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/agenttrace/agenttrace/pkg/chschema/jsonvalue"
)

// JSONText encodes v as the compact protojson text of a Value; "" when v
// is absent or holds no kind.
//
// The text is byte for byte what protojson.Marshal and then json.Compact
// write (protojson varies its whitespace between builds on purpose), and
// the errors are protojson's, for NaN or infinite numbers, invalid UTF-8
// and Values without a kind inside v; FuzzJSONText holds it to them. It
// writes the text itself because protojson walks v through reflection
// and Compact reads it all again, over a quarter of the worker's decoding
// time for LLM spans.
func JSONText(v *structpb.Value) (string, error) {
	if v == nil || v.GetKind() == nil {
		return "", nil
	}
	buf := textBuffers.Get().(*[]byte)
	b, err := appendValue((*buf)[:0], v)
	var text string
	if err == nil {
		text = string(b)
	}
	if cap(b) <= maxPooledText {
		*buf = b
		textBuffers.Put(buf)
	}
	if err != nil {
		// protojson words the error: its messages vary between builds.
		// Should it accept what appendValue refused, that mismatch is
		// reported rather than hidden.
		if _, perr := protojson.Marshal(v); perr != nil {
			return "", perr
		}
		return "", err
	}
	return text, nil
}

// textBuffers are the buffers JSONText writes into, reused so that the
// copy it returns is its one allocation. Those grown past maxPooledText by
// an outsized Value are left to the collector rather than kept.
var textBuffers = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledText = 64 << 10

// The errors appendValue finds, which JSONText reports in protojson's
// words.
var (
	errNoKind    = errors.New("a Value has no kind")
	errNonFinite = errors.New("a number is NaN or infinite")
	errBadUTF8   = errors.New("a string is not valid UTF-8")
)

// appendValue appends the text of v. A Value without a kind, whether nil,
// kindless or with a nil kind wrapper, is an error (at the top JSONText
// writes it as ""); a nil Struct or ListValue is empty.
func appendValue(b []byte, v *structpb.Value) ([]byte, error) {
	switch k := v.GetKind().(type) {
	case *structpb.Value_NullValue:
		if k != nil {
			return append(b, "null"...), nil
		}
	case *structpb.Value_BoolValue:
		if k != nil {
			return strconv.AppendBool(b, k.BoolValue), nil
		}
	case *structpb.Value_NumberValue:
		if k != nil {
			return appendNumber(b, k.NumberValue)
		}
	case *structpb.Value_StringValue:
		if k != nil {
			return appendString(b, k.StringValue)
		}
	case *structpb.Value_StructValue:
		if k != nil {
			return appendStruct(b, k.StructValue.GetFields())
		}
	case *structpb.Value_ListValue:
		if k != nil {
			return appendList(b, k.ListValue.GetValues())
		}
	}
	return b, errNoKind
}

// appendStruct writes fields in the order of their keys' bytes, as
// protojson does.
func appendStruct(b []byte, fields map[string]*structpb.Value) ([]byte, error) {
	type field struct {
		key   string
		value *structpb.Value
	}
	var buf [8]field
	sorted := buf[:0]
	for k, v := range fields {
		sorted = append(sorted, field{k, v})
	}
	slices.SortFunc(sorted, func(x, y field) int { return strings.Compare(x.key, y.key) })
	b = append(b, '{')
	for i, f := range sorted {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendString(b, f.key); err != nil {
			return b, err
		}
		b = append(b, ':')
		if b, err = appendValue(b, f.value); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

func appendList(b []byte, values []*structpb.Value) ([]byte, error) {
	b = append(b, '[')
	for i, v := range values {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendValue(b, v); err != nil {
			return b, err
		}
	}
	return append(b, ']'), nil
}

// appendNumber writes f as protojson does (after encoding/json): in
// decimal notation, exponent notation below 1e-6 or from 1e21, with the
// shortest digits that read back as f and an exponent without a leading
// zero. NaN and infinities are an error for a Value.
func appendNumber(b []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, errNonFinite
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// 1e-07 becomes 1e-7.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}

// appendString writes s quoted as protojson does: only '"', '\\' and
// control characters are escaped (\b \f \n \r \t, others as \u00XX in
// lower case); HTML characters, DEL and U+2028/9 are written as they are,
// unlike encoding/json. Invalid UTF-8 is an error.
func appendString(b []byte, s string) ([]byte, error) {
	b = append(b, '"')
	start := 0 // s[start:i] is yet to be copied
	for i := 0; i < len(s); {
		c := s[i]
		if plainASCII[c] {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				return b, errBadUTF8
			}
			i += size
			continue
		}
		b = jsonvalue.AppendEscapedASCII(append(b, s[start:i]...), c)
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"'), nil
}

// plainASCII tells the ASCII bytes a string holds as they are, the bulk
// of most text, in one look-up each.
var plainASCII = func() (t [256]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()
