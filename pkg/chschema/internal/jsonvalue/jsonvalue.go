// Package jsonvalue decodes JSON text into a google.protobuf.Value.
//
// ClickHouse holds every input and output as the protojson text of a Value,
// and GetTrace turns tens of thousands of them back into Values per call.
// protojson.Unmarshal walks the message through reflection and allocates a
// token per element; this decoder builds the Value directly and reuses the
// input for strings without escapes, several times faster (see the
// benchmarks). It accepts exactly the texts protojson accepts for a Value and
// yields equal messages (FuzzParse checks both against protojson): strict
// RFC 8259 JSON, valid UTF-8, no duplicate object keys, numbers that fit a
// float64, and protojson's nesting limit.
package jsonvalue

import (
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/structpb"
)

// maxDepth mirrors protojson's default recursion limit, counted the same
// way: in nested Values (a Struct or ListValue inside a Value adds none).
const maxDepth = 10_000

var (
	errSyntax   = errors.New("jsonvalue: invalid JSON")
	errDepth    = errors.New("jsonvalue: nested too deeply")
	errRange    = errors.New("jsonvalue: number out of range")
	errDupKey   = errors.New("jsonvalue: duplicate object key")
	errEncoding = errors.New("jsonvalue: invalid UTF-8 in string")
)

// Parse decodes text, one JSON value with optional surrounding whitespace.
// Strings of the result may share memory with text.
func Parse(text string) (*structpb.Value, error) {
	p := parser{in: text}
	p.skipSpace()
	v, err := p.value(1)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos != len(p.in) {
		return nil, errSyntax
	}
	return v, nil
}

type parser struct {
	in  string
	pos int
}

func (p *parser) skipSpace() {
	for p.pos < len(p.in) {
		switch p.in[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// value reads one value at message depth depth; the parser stands on its
// first byte and is left after its last.
func (p *parser) value(depth int) (*structpb.Value, error) {
	if depth > maxDepth {
		return nil, errDepth
	}
	if p.pos >= len(p.in) {
		return nil, errSyntax
	}
	switch c := p.in[p.pos]; {
	case c == '"':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return &structpb.Value{Kind: &structpb.Value_StringValue{StringValue: s}}, nil
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '-' || ('0' <= c && c <= '9'):
		return p.number()
	case c == 't':
		if err := p.literal("true"); err != nil {
			return nil, err
		}
		return &structpb.Value{Kind: &structpb.Value_BoolValue{BoolValue: true}}, nil
	case c == 'f':
		if err := p.literal("false"); err != nil {
			return nil, err
		}
		return &structpb.Value{Kind: &structpb.Value_BoolValue{BoolValue: false}}, nil
	case c == 'n':
		if err := p.literal("null"); err != nil {
			return nil, err
		}
		return &structpb.Value{Kind: &structpb.Value_NullValue{}}, nil
	}
	return nil, errSyntax
}

// object reads {...}; depth is that of the Value holding it.
func (p *parser) object(depth int) (*structpb.Value, error) {
	p.pos++ // {
	fields := map[string]*structpb.Value{}
	p.skipSpace()
	if p.pos < len(p.in) && p.in[p.pos] == '}' {
		p.pos++
		return &structpb.Value{Kind: &structpb.Value_StructValue{StructValue: &structpb.Struct{Fields: fields}}}, nil
	}
	for {
		if p.pos >= len(p.in) || p.in[p.pos] != '"' {
			return nil, errSyntax
		}
		key, err := p.str()
		if err != nil {
			return nil, err
		}
		if _, dup := fields[key]; dup {
			return nil, errDupKey
		}
		p.skipSpace()
		if p.pos >= len(p.in) || p.in[p.pos] != ':' {
			return nil, errSyntax
		}
		p.pos++
		p.skipSpace()
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		fields[key] = v
		p.skipSpace()
		if p.pos >= len(p.in) {
			return nil, errSyntax
		}
		switch p.in[p.pos] {
		case ',':
			p.pos++
			p.skipSpace()
		case '}':
			p.pos++
			return &structpb.Value{Kind: &structpb.Value_StructValue{StructValue: &structpb.Struct{Fields: fields}}}, nil
		default:
			return nil, errSyntax
		}
	}
}

// array reads [...]; depth is that of the Value holding it.
func (p *parser) array(depth int) (*structpb.Value, error) {
	p.pos++ // [
	list := &structpb.ListValue{}
	p.skipSpace()
	if p.pos < len(p.in) && p.in[p.pos] == ']' {
		p.pos++
		return &structpb.Value{Kind: &structpb.Value_ListValue{ListValue: list}}, nil
	}
	for {
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		list.Values = append(list.Values, v)
		p.skipSpace()
		if p.pos >= len(p.in) {
			return nil, errSyntax
		}
		switch p.in[p.pos] {
		case ',':
			p.pos++
			p.skipSpace()
		case ']':
			p.pos++
			return &structpb.Value{Kind: &structpb.Value_ListValue{ListValue: list}}, nil
		default:
			return nil, errSyntax
		}
	}
}

// literal consumes word, which must end at a delimiter.
func (p *parser) literal(word string) error {
	end := p.pos + len(word)
	if end > len(p.in) || p.in[p.pos:end] != word || (end < len(p.in) && !isDelim(p.in[end])) {
		return errSyntax
	}
	p.pos = end
	return nil
}

// isDelim reports whether c may follow a number or literal; protojson
// rejects "1x" or "nullx" as one bad token rather than two tokens.
func isDelim(c byte) bool {
	return !(c == '-' || c == '+' || c == '.' || c == '_' ||
		('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9'))
}

// number reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func (p *parser) number() (*structpb.Value, error) {
	in, start := p.in, p.pos
	i := start
	if in[i] == '-' {
		i++
	}
	switch {
	case i < len(in) && in[i] == '0':
		i++
	case i < len(in) && '1' <= in[i] && in[i] <= '9':
		i = digits(in, i+1)
	default:
		return nil, errSyntax
	}
	if i < len(in) && in[i] == '.' {
		j := digits(in, i+1)
		if j == i+1 {
			return nil, errSyntax
		}
		i = j
	}
	if i < len(in) && (in[i] == 'e' || in[i] == 'E') {
		i++
		if i < len(in) && (in[i] == '+' || in[i] == '-') {
			i++
		}
		j := digits(in, i)
		if j == i {
			return nil, errSyntax
		}
		i = j
	}
	if i < len(in) && !isDelim(in[i]) {
		return nil, errSyntax
	}
	f, err := strconv.ParseFloat(in[start:i], 64)
	if err != nil {
		return nil, errRange
	}
	p.pos = i
	return &structpb.Value{Kind: &structpb.Value_NumberValue{NumberValue: f}}, nil
}

func digits(s string, i int) int {
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	return i
}

// str reads a string; without escapes the result is a slice of the input.
func (p *parser) str() (string, error) {
	in := p.in
	start := p.pos + 1
	ascii := true
	for i := start; i < len(in); i++ {
		switch c := in[i]; {
		case c == '"':
			s := in[start:i]
			if !ascii && !utf8.ValidString(s) {
				return "", errEncoding
			}
			p.pos = i + 1
			return s, nil
		case c == '\\':
			return p.escaped(start, i)
		case c < ' ':
			return "", errSyntax
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return "", errSyntax
}

// escaped finishes a string from its first backslash at i, copying.
func (p *parser) escaped(start, i int) (string, error) {
	in := p.in
	out := make([]byte, 0, i-start+16)
	out = append(out, in[start:i]...)
	for i < len(in) {
		c := in[i]
		switch {
		case c == '"':
			if !utf8.Valid(out) {
				return "", errEncoding
			}
			p.pos = i + 1
			return string(out), nil
		case c < ' ':
			return "", errSyntax
		case c != '\\':
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(in) {
			return "", errSyntax
		}
		switch e := in[i+1]; e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(in, i+2)
			if !ok {
				return "", errSyntax
			}
			if utf16.IsSurrogate(r) {
				// Only a high surrogate followed by an escaped low one is
				// a character; protojson refuses any other surrogate.
				if i+12 > len(in) || in[i+6] != '\\' || in[i+7] != 'u' {
					return "", errSyntax
				}
				r2, ok := hex4(in, i+8)
				if r = utf16.DecodeRune(r, r2); !ok || r == utf8.RuneError {
					return "", errSyntax
				}
				i += 6
			}
			out = utf8.AppendRune(out, r)
			i += 4
		default:
			return "", errSyntax
		}
		i += 2
	}
	return "", errSyntax
}

// hex4 reads four hex digits at i.
func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
