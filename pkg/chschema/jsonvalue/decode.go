package jsonvalue

import (
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

var (
	errSyntax   = errors.New("jsonvalue: invalid JSON")
	errDepth    = errors.New("jsonvalue: nested too deeply")
	errRange    = errors.New("jsonvalue: number out of range")
	errDupKey   = errors.New("jsonvalue: duplicate object key")
	errEncoding = errors.New("jsonvalue: invalid UTF-8 in string")
)

// builder makes the values of one output type from what the decoder reads,
// each value once its parts are made. The slices given to array and object
// are the decoder's scratch space, valid only during the call; array's
// parts have no keys.
type builder[V any] interface {
	null() V
	boolean(b bool) V
	number(f float64) V
	str(s string) V
	array(elems []member[V]) V
	// object refuses members with a repeated key, or keeps the last.
	object(members []member[V]) (V, error)
}

// member is one part of an array or object being read.
type member[V any] struct {
	key   string
	value V
}

// options are what the two front-ends read differently.
type options struct {
	// maxDepth is the deepest nesting accepted, a top-level value being
	// at depth 1 and the elements of a top-level array at depth 2.
	maxDepth int
	// replaceInvalid turns invalid UTF-8 in strings and unpaired UTF-16
	// surrogates in \u escapes into U+FFFD instead of refusing them.
	replaceInvalid bool
}

// decode reads text, one JSON value with optional surrounding whitespace,
// building it with b. Strings without escapes or invalid UTF-8 share
// text's memory.
func decode[V any](text string, b builder[V], opts options) (V, error) {
	d := decoder[V]{in: text, b: b, options: opts}
	d.skipSpace()
	v, err := d.value(1)
	if err != nil {
		var zero V
		return zero, err
	}
	d.skipSpace()
	if d.pos != len(d.in) {
		var zero V
		return zero, errSyntax
	}
	return v, nil
}

type decoder[V any] struct {
	in  string
	pos int
	b   builder[V]
	options
	// parts holds the parts of the arrays and objects being read,
	// innermost last, so that each is made at its final size.
	parts []member[V]
}

// startParts marks where the parts of an array or object begin.
func (d *decoder[V]) startParts() int {
	if d.parts == nil {
		// One allocation for what most documents hold at once, none
		// bigger than the text could hold: each part takes at least two
		// bytes of it.
		d.parts = make([]member[V], 0, min(len(d.in)/2+1, 8))
	}
	return len(d.parts)
}

func (d *decoder[V]) skipSpace() {
	for d.pos < len(d.in) {
		switch d.in[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// value reads one value at depth depth; the decoder stands on its first
// byte and is left after its last.
func (d *decoder[V]) value(depth int) (V, error) {
	var zero V
	if depth > d.maxDepth {
		return zero, errDepth
	}
	if d.pos >= len(d.in) {
		return zero, errSyntax
	}
	switch c := d.in[d.pos]; {
	case c == '"':
		s, err := d.str()
		if err != nil {
			return zero, err
		}
		return d.b.str(s), nil
	case c == '{':
		return d.object(depth)
	case c == '[':
		return d.array(depth)
	case c == '-' || ('0' <= c && c <= '9'):
		f, err := d.number()
		if err != nil {
			return zero, err
		}
		return d.b.number(f), nil
	case c == 't':
		if err := d.literal("true"); err != nil {
			return zero, err
		}
		return d.b.boolean(true), nil
	case c == 'f':
		if err := d.literal("false"); err != nil {
			return zero, err
		}
		return d.b.boolean(false), nil
	case c == 'n':
		if err := d.literal("null"); err != nil {
			return zero, err
		}
		return d.b.null(), nil
	}
	return zero, errSyntax
}

// object reads {...} at depth depth.
func (d *decoder[V]) object(depth int) (V, error) {
	var zero V
	d.pos++ // {
	mark := d.startParts()
	d.skipSpace()
	if d.pos < len(d.in) && d.in[d.pos] == '}' {
		d.pos++
		return d.b.object(nil)
	}
	for {
		if d.pos >= len(d.in) || d.in[d.pos] != '"' {
			return zero, errSyntax
		}
		key, err := d.str()
		if err != nil {
			return zero, err
		}
		d.skipSpace()
		if d.pos >= len(d.in) || d.in[d.pos] != ':' {
			return zero, errSyntax
		}
		d.pos++
		d.skipSpace()
		v, err := d.value(depth + 1)
		if err != nil {
			return zero, err
		}
		d.parts = append(d.parts, member[V]{key, v})
		closed, err := d.next('}')
		if err != nil {
			return zero, err
		}
		if closed {
			v, err := d.b.object(d.parts[mark:])
			d.parts = d.parts[:mark]
			return v, err
		}
	}
}

// array reads [...] at depth depth.
func (d *decoder[V]) array(depth int) (V, error) {
	var zero V
	d.pos++ // [
	mark := d.startParts()
	d.skipSpace()
	if d.pos < len(d.in) && d.in[d.pos] == ']' {
		d.pos++
		return d.b.array(nil), nil
	}
	for {
		v, err := d.value(depth + 1)
		if err != nil {
			return zero, err
		}
		d.parts = append(d.parts, member[V]{value: v})
		closed, err := d.next(']')
		if err != nil {
			return zero, err
		}
		if closed {
			v := d.b.array(d.parts[mark:])
			d.parts = d.parts[:mark]
			return v, nil
		}
	}
}

// next reads what follows an element of an object or array: a comma and
// the space after it (closed false), or the closing byte (closed true).
func (d *decoder[V]) next(closing byte) (closed bool, err error) {
	d.skipSpace()
	if d.pos >= len(d.in) {
		return false, errSyntax
	}
	switch d.in[d.pos] {
	case ',':
		d.pos++
		d.skipSpace()
		return false, nil
	case closing:
		d.pos++
		return true, nil
	}
	return false, errSyntax
}

// literal consumes word, which must end at a delimiter.
func (d *decoder[V]) literal(word string) error {
	end := d.pos + len(word)
	if end > len(d.in) || d.in[d.pos:end] != word || (end < len(d.in) && !isDelim(d.in[end])) {
		return errSyntax
	}
	d.pos = end
	return nil
}

// isDelim reports whether c may follow a number or literal; protojson
// rejects "1x" or "nullx" as one bad token rather than two tokens. (What
// it refuses is never valid JSON: it only refuses sooner.)
func isDelim(c byte) bool {
	return !(c == '-' || c == '+' || c == '.' || c == '_' ||
		('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9'))
}

// number reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, refusing
// one out of float64's range.
func (d *decoder[V]) number() (float64, error) {
	in, start := d.in, d.pos
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
		return 0, errSyntax
	}
	if i < len(in) && in[i] == '.' {
		j := digits(in, i+1)
		if j == i+1 {
			return 0, errSyntax
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
			return 0, errSyntax
		}
		i = j
	}
	if i < len(in) && !isDelim(in[i]) {
		return 0, errSyntax
	}
	f, err := strconv.ParseFloat(in[start:i], 64)
	if err != nil {
		return 0, errRange
	}
	d.pos = i
	return f, nil
}

func digits(s string, i int) int {
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	return i
}

// str reads a string; without escapes or invalid UTF-8 the result is a
// slice of the input.
func (d *decoder[V]) str() (string, error) {
	in := d.in
	start := d.pos + 1
	ascii := true
	for i := start; i < len(in); i++ {
		switch c := in[i]; {
		case c == '"' || c == '\\':
			if !ascii && !utf8.ValidString(in[start:i]) {
				if !d.replaceInvalid {
					return "", errEncoding
				}
				return d.unquote(start, start)
			}
			if c == '\\' {
				return d.unquote(start, i)
			}
			d.pos = i + 1
			return in[start:i], nil
		case c < ' ':
			return "", errSyntax
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return "", errSyntax
}

// unquote finishes a string by copying: start is just after its opening
// quote, and the bytes before i are valid UTF-8 without escapes.
func (d *decoder[V]) unquote(start, i int) (string, error) {
	in := d.in
	out := make([]byte, 0, i-start+16)
	out = append(out, in[start:i]...)
	for i < len(in) {
		switch c := in[i]; {
		case c == '"':
			d.pos = i + 1
			return string(out), nil
		case c < ' ':
			return "", errSyntax
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(in[i:])
			if r == utf8.RuneError && size == 1 {
				if !d.replaceInvalid {
					return "", errEncoding
				}
				out = utf8.AppendRune(out, utf8.RuneError)
			} else {
				out = append(out, in[i:i+size]...)
			}
			i += size
			continue
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
			i += 6
			if utf16.IsSurrogate(r) {
				// Only a high surrogate followed by an escaped low one is
				// a character. protojson refuses any other surrogate;
				// encoding/json makes it U+FFFD and reads what follows
				// on its own.
				low := rune(-1)
				if i+1 < len(in) && in[i] == '\\' && in[i+1] == 'u' {
					if r2, ok := hex4(in, i+2); ok {
						low = r2
					}
				}
				switch pair := utf16.DecodeRune(r, low); {
				case pair != utf8.RuneError:
					r = pair
					i += 6
				case d.replaceInvalid:
					r = utf8.RuneError
				default:
					return "", errSyntax
				}
			}
			out = utf8.AppendRune(out, r)
			continue
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
