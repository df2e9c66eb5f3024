package otlpingest

import (
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/agenttrace/agenttrace/pkg/otlpmap"
)

// Scan checks an encoded ExportTraceServiceRequest without decoding it,
// for the case that matters for throughput: every span valid, encoded the
// way SDKs encode (each field of the schema at most once where it is
// singular, with its schema's wire type). It returns every span's SpanRef,
// in request order, and true when it can vouch that decoding raw
// succeeds and Validate accepts every span. Anything else — a span Validate
// would reject, a malformed or unusual encoding, a field this scan does not
// know (a newer OTLP schema's) — makes it return false, and the caller
// decodes the request and validates it: Validate's verdict is the
// reference, Scan only saves decoding a request that passes.
//
// Decoding a request allocates every span, attribute and string of it;
// with a small span, decoding took seven times as long as the checks.
func Scan(raw []byte, lim Limits) (spans []SpanRef, ok bool) {
	s := scan{lim: lim}
	if !s.request(raw) {
		return nil, false
	}
	return s.spans, true
}

// scan is one Scan. Its methods return false as soon as they meet anything
// they cannot vouch for.
type scan struct {
	lim   Limits
	spans []SpanRef
}

// field is one field of a message, its value still encoded.
type field struct {
	num protowire.Number
	typ protowire.Type
	// val holds the bytes of a length-delimited field; v the value of a
	// varint or fixed-width one.
	val []byte
	v   uint64
}

// fields calls f for each field of the message in b, in order, and
// returns false when b is malformed or f returns false.
func fields(b []byte, f func(field) bool) bool {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return false
		}
		b = b[n:]
		fd := field{num: num, typ: typ}
		switch typ {
		case protowire.VarintType:
			fd.v, n = protowire.ConsumeVarint(b)
		case protowire.Fixed64Type:
			fd.v, n = protowire.ConsumeFixed64(b)
		case protowire.Fixed32Type:
			var v uint32
			v, n = protowire.ConsumeFixed32(b)
			fd.v = uint64(v)
		case protowire.BytesType:
			fd.val, n = protowire.ConsumeBytes(b)
		default: // groups: no OTLP field is one
			return false
		}
		if n < 0 || !f(fd) {
			return false
		}
		b = b[n:]
	}
	return true
}

// once tracks the singular fields seen in a message: a second occurrence
// would merge or replace the first when decoded, which Scan does not
// follow.
type once uint32

func (o *once) first(num protowire.Number) bool {
	bit := once(1) << (num % 32)
	if *o&bit != 0 {
		return false
	}
	*o |= bit
	return true
}

// utf8Field checks a string field: the decoder refuses invalid UTF-8.
func utf8Field(fd field) bool { return fd.typ == protowire.BytesType && utf8.Valid(fd.val) }

// encodedSize is the size of a length-delimited field of n bytes of value
// as the decoder would encode it again (a one-byte tag): what Validate's
// size checks count.
func encodedSize(n int) int { return 1 + protowire.SizeVarint(uint64(n)) + n }

func (s *scan) request(b []byte) bool {
	return fields(b, func(fd field) bool {
		return fd.num == 1 && fd.typ == protowire.BytesType && s.resourceSpans(fd.val)
	})
}

func (s *scan) resourceSpans(b []byte) bool { return group(b, 0, s.resource, s.scopeSpans) }

func (s *scan) scopeSpans(b []byte, resBytes int) bool { return group(b, resBytes, s.scope, s.span) }

// group checks a ResourceSpans or a ScopeSpans: its head (field 1, the
// resource or the scope), its schema_url (3) and its children (2), each
// checked by child with groupBytes, the size of the heads above it, to
// which its own head's is added (a head may follow the children).
func group(b []byte, groupBytes int, head func([]byte) bool, child func([]byte, int) bool) bool {
	var seen once
	ok := fields(b, func(fd field) bool {
		switch fd.num {
		case 1:
			groupBytes += encodedSize(len(fd.val))
			return fd.typ == protowire.BytesType && seen.first(1) && head(fd.val)
		case 2:
			return fd.typ == protowire.BytesType
		case 3:
			return utf8Field(fd)
		}
		return false
	})
	return ok && fields(b, func(fd field) bool {
		return fd.num != 2 || child(fd.val, groupBytes)
	})
}

func (s *scan) resource(b []byte) bool {
	attrs := 0
	return fields(b, func(fd field) bool {
		switch fd.num {
		case 1:
			return s.attribute(fd, &attrs)
		case 2:
			return fd.typ == protowire.VarintType
		}
		return false
	})
}

func (s *scan) scope(b []byte) bool {
	var seen once
	attrs := 0
	return fields(b, func(fd field) bool {
		switch fd.num {
		case 1:
			return utf8Field(fd) && seen.first(1) && len(fd.val) <= s.lim.MaxNameBytes
		case 2:
			return utf8Field(fd)
		case 3:
			return s.attribute(fd, &attrs)
		case 4:
			return fd.typ == protowire.VarintType
		}
		return false
	})
}

// Span field numbers with rules.
const (
	spanTraceID = 1
	spanSpanID  = 2
	spanParent  = 4
	spanName    = 5
	spanStart   = 7
	spanEnd     = 8
)

func (s *scan) span(b []byte, groupBytes int) bool {
	if groupBytes+len(b) > s.lim.MaxSpanBytes {
		return false
	}
	var (
		seen                 once
		traceID, spanID, pid []byte
		start, end           uint64
		attrs, events, links int
	)
	ok := fields(b, func(fd field) bool {
		switch fd.num {
		case spanTraceID, spanSpanID, spanParent:
			if fd.typ != protowire.BytesType || !seen.first(fd.num) {
				return false
			}
			switch fd.num {
			case spanTraceID:
				traceID = fd.val
			case spanSpanID:
				spanID = fd.val
			default:
				pid = fd.val
			}
			return true
		case 3: // trace_state
			return utf8Field(fd)
		case spanName:
			return utf8Field(fd) && seen.first(fd.num) && len(fd.val) <= s.lim.MaxNameBytes
		case 6, 10, 12, 14: // kind, dropped counts
			return fd.typ == protowire.VarintType
		case spanStart, spanEnd:
			if fd.typ != protowire.Fixed64Type || !seen.first(fd.num) {
				return false
			}
			if fd.num == spanStart {
				start = fd.v
			} else {
				end = fd.v
			}
			return true
		case 9:
			return s.attribute(fd, &attrs)
		case 11:
			events++
			return fd.typ == protowire.BytesType && events <= s.lim.MaxEvents && s.event(fd.val)
		case 13:
			links++
			return fd.typ == protowire.BytesType && links <= s.lim.MaxLinks && s.link(fd.val)
		case 15:
			return fd.typ == protowire.BytesType && status(fd.val)
		case 16: // flags
			return fd.typ == protowire.Fixed32Type
		}
		return false
	})
	if !ok || !validID(traceID, 16) || !validID(spanID, 8) {
		return false
	}
	// An all-zero parent is a root's (Validate clears it); any other
	// parent must be a valid span id other than the span's own.
	if len(pid) > 0 && !(len(pid) == 8 && allZero(pid)) && (!validID(pid, 8) || string(pid) == string(spanID)) {
		return false
	}
	if otlpmap.CheckTimes(start, end) != nil {
		return false
	}
	s.spans = append(s.spans, refOf(traceID, spanID))
	return true
}

func validID(id []byte, n int) bool { return len(id) == n && !allZero(id) }

func status(b []byte) bool {
	return fields(b, func(fd field) bool {
		switch fd.num {
		case 2:
			return utf8Field(fd)
		case 3:
			return fd.typ == protowire.VarintType
		}
		return false
	})
}

func (s *scan) event(b []byte) bool {
	var seen once
	attrs := 0
	return fields(b, func(fd field) bool {
		switch fd.num {
		case 1:
			return fd.typ == protowire.Fixed64Type
		case 2:
			return utf8Field(fd) && seen.first(2) && len(fd.val) <= s.lim.MaxNameBytes
		case 3:
			return s.attribute(fd, &attrs)
		case 4:
			return fd.typ == protowire.VarintType
		}
		return false
	})
}

func (s *scan) link(b []byte) bool {
	var (
		seen            once
		traceID, spanID []byte
		attrs           int
	)
	ok := fields(b, func(fd field) bool {
		switch fd.num {
		case 1, 2:
			if fd.typ != protowire.BytesType || !seen.first(fd.num) {
				return false
			}
			if fd.num == 1 {
				traceID = fd.val
			} else {
				spanID = fd.val
			}
			return true
		case 3:
			return utf8Field(fd)
		case 4:
			return s.attribute(fd, &attrs)
		case 5:
			return fd.typ == protowire.VarintType
		case 6:
			return fd.typ == protowire.Fixed32Type
		}
		return false
	})
	return ok && validID(traceID, 16) && validID(spanID, 8)
}

// attribute checks the next attribute of a list that holds *n so far.
func (s *scan) attribute(fd field, n *int) bool {
	*n++
	return fd.typ == protowire.BytesType && *n <= s.lim.MaxAttributes && s.keyValue(fd.val, 1)
}

// keyValue checks a KeyValue whose value nests at depth (1 for an
// attribute's own value), as checkKeyValues does.
func (s *scan) keyValue(b []byte, depth int) bool {
	var seen once
	hasKey := false
	return fields(b, func(fd field) bool {
		switch fd.num {
		case 1:
			hasKey = true
			return utf8Field(fd) && seen.first(1) && len(fd.val) > 0 && len(fd.val) <= s.lim.MaxAttributeKeyBytes
		case 2:
			// A second value would merge into the first when decoded.
			return fd.typ == protowire.BytesType && seen.first(2) && s.anyValue(fd.val, depth)
		}
		return false
	}) && hasKey
}

// maxScanDepth bounds the nesting Scan follows whatever the limits say,
// far inside the decoder's own recursion limit.
const maxScanDepth = 64

// anyValue checks an AnyValue at depth, as checkValue does. Only one of
// its oneof fields may be present.
func (s *scan) anyValue(b []byte, depth int) bool {
	set := false
	return fields(b, func(fd field) bool {
		if set {
			return false
		}
		set = true
		switch fd.num {
		case 1: // string
			return utf8Field(fd)
		case 2, 3: // bool, int
			return fd.typ == protowire.VarintType
		case 4: // double
			return fd.typ == protowire.Fixed64Type
		case 7: // bytes
			return fd.typ == protowire.BytesType
		case 5, 6: // array, key-value list
			if fd.typ != protowire.BytesType || depth >= min(s.lim.MaxValueDepth, maxScanDepth) {
				return false
			}
			n := 0
			return fields(fd.val, func(e field) bool {
				n++
				if e.num != 1 || e.typ != protowire.BytesType || n > s.lim.MaxAttributes {
					return false
				}
				if fd.num == 5 {
					return s.anyValue(e.val, depth+1)
				}
				return s.keyValue(e.val, depth+1)
			})
		}
		return false
	})
}
