package query

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"slices"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// A page token is the position of the last item of a page plus a digest of
// the request's filters, so that a token is refused with other filters (it
// would skip or repeat items there), and a checksum, so that an edited token
// is refused rather than read from a made-up position. It is opaque to
// clients but not secret, and the checksum is no MAC: a forged position only
// moves where the caller's own project is read from, so no key is needed.
//
// Layout, then unpadded base64url:
//
//	version(1) | filter digest(8) | sort value(8, big endian) | uvarint len(id) | id | tie | checksum(4)
//
// where checksum is the start of SHA-256 over everything before it.

const (
	tokenVersion   = 2 // 1 had no checksum
	digestLen      = 8
	checksumLen    = 4
	maxTokenLength = 4096 // base64 characters; far above any real id
)

type filterDigest [digestLen]byte

// pagingFields are left out of a request's digest: the page size may change
// between pages, and the token is what moves.
var pagingFields = []protoreflect.Name{"page_token", "page_size", "observations_page_token", "observations_page_size"}

// digestOf hashes the filters of a list request: the message with its
// paging fields cleared. normalize may adjust the clone (sort tags) so that
// equivalent filters match.
func digestOf(req proto.Message, normalize func(proto.Message)) filterDigest {
	m := proto.Clone(req)
	fields := m.ProtoReflect().Descriptor().Fields()
	for _, name := range pagingFields {
		if fd := fields.ByName(name); fd != nil {
			m.ProtoReflect().Clear(fd)
		}
	}
	if normalize != nil {
		normalize(m)
	}
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(m) // a valid message always marshals
	h := sha256.New()
	h.Write([]byte(m.ProtoReflect().Descriptor().FullName()))
	h.Write([]byte{0})
	h.Write(b)
	var d filterDigest
	copy(d[:], h.Sum(nil))
	return d
}

func encodePageToken(d filterDigest, c Cursor) string {
	b := make([]byte, 0, 1+digestLen+8+binary.MaxVarintLen64+len(c.ID)+len(c.Tie)+checksumLen)
	b = append(b, tokenVersion)
	b = append(b, d[:]...)
	b = binary.BigEndian.AppendUint64(b, c.TS)
	b = binary.AppendUvarint(b, uint64(len(c.ID)))
	b = append(b, c.ID...)
	b = append(b, c.Tie...)
	sum := checksum(b)
	b = append(b, sum[:]...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func checksum(b []byte) [checksumLen]byte {
	h := sha256.Sum256(b)
	return [checksumLen]byte(h[:checksumLen])
}

// decodePageToken reads the page_token of a request with filter digest d;
// "" is the first page (nil cursor).
func decodePageToken(token string, d filterDigest) (*Cursor, error) {
	return decodeToken("page_token", token, d)
}

// decodeToken is decodePageToken for a token in the named request field.
func decodeToken(field, token string, d filterDigest) (*Cursor, error) {
	if token == "" {
		return nil, nil
	}
	bad := invalid(field, "not a page token of this request; start again without it")
	if len(token) > maxTokenLength {
		return nil, bad
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(token) // one spelling per token
	if err != nil || len(b) < 1+digestLen+8+1+checksumLen || b[0] != tokenVersion {
		return nil, bad
	}
	b, sum := b[:len(b)-checksumLen], b[len(b)-checksumLen:]
	if checksum(b) != [checksumLen]byte(sum) {
		return nil, bad
	}
	if [digestLen]byte(b[1:1+digestLen]) != d {
		return nil, invalid(field, "was issued for other filters; start again without it")
	}
	b = b[1+digestLen:]
	c := Cursor{TS: binary.BigEndian.Uint64(b)}
	b = b[8:]
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, bad
	}
	c.ID, c.Tie = string(b[k:k+int(n)]), string(b[k+int(n):])
	if !utf8.ValidString(c.ID) || !utf8.ValidString(c.Tie) {
		return nil, bad
	}
	return &c, nil
}

// nextPageToken is the token after the last of n items when more exist.
func nextPageToken[T any](items []T, size int, d filterDigest, cursor func(T) Cursor) ([]T, string) {
	if len(items) <= size {
		return items, ""
	}
	items = slices.Clip(items[:size])
	return items, encodePageToken(d, cursor(items[size-1]))
}
