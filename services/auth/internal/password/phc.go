package password

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// phc is a parsed argon2id PHC string.
type phc struct {
	params Params
	salt   []byte
	key    []byte
}

// b64 is the PHC encoding: standard alphabet, no padding, and strict, so
// that every hash has exactly one spelling.
var b64 = base64.RawStdEncoding.Strict()

func (p phc) encode() string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		p.params.Memory, p.params.Time, p.params.Threads, b64.EncodeToString(p.salt), b64.EncodeToString(p.key))
}

// decode parses "$argon2id$v=19$m=M,t=T,p=P$salt$key". It is strict (the
// fields in this order, numbers without sign or leading zeros, canonical
// base64), so decode(s) succeeding implies encode gives s back. It checks
// the syntax only; the caller bounds the parameters.
func decode(s string) (phc, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return phc{}, fmt.Errorf("%w: not an argon2id PHC string", ErrMalformedHash)
	}
	v, ok := strings.CutPrefix(parts[2], "v=")
	if !ok {
		return phc{}, fmt.Errorf("%w: no version", ErrMalformedHash)
	}
	if n, err := number(v, 32); err != nil || n != argon2.Version {
		return phc{}, fmt.Errorf("%w: unsupported version", ErrMalformedHash)
	}
	var p phc
	fields := strings.Split(parts[3], ",")
	if len(fields) != 3 {
		return phc{}, fmt.Errorf("%w: want m, t and p", ErrMalformedHash)
	}
	for i, name := range []string{"m", "t", "p"} {
		val, ok := strings.CutPrefix(fields[i], name+"=")
		if !ok {
			return phc{}, fmt.Errorf("%w: want parameter %s", ErrMalformedHash, name)
		}
		bits := 32
		if name == "p" {
			bits = 8
		}
		n, err := number(val, bits)
		if err != nil {
			return phc{}, fmt.Errorf("%w: parameter %s: %w", ErrMalformedHash, name, err)
		}
		switch name {
		case "m":
			p.params.Memory = uint32(n)
		case "t":
			p.params.Time = uint32(n)
		case "p":
			p.params.Threads = uint8(n)
		}
	}
	// The base64 decoder skips CR and LF; a hash has exactly one spelling.
	if strings.ContainsAny(parts[4]+parts[5], "\r\n") {
		return phc{}, fmt.Errorf("%w: line breaks in salt or hash", ErrMalformedHash)
	}
	var err error
	if p.salt, err = b64.DecodeString(parts[4]); err != nil || len(p.salt) == 0 {
		return phc{}, fmt.Errorf("%w: salt", ErrMalformedHash)
	}
	if p.key, err = b64.DecodeString(parts[5]); err != nil || len(p.key) == 0 {
		return phc{}, fmt.Errorf("%w: hash", ErrMalformedHash)
	}
	p.params.SaltLen, p.params.KeyLen = uint32(len(p.salt)), uint32(len(p.key))
	return p, nil
}

// number parses a canonical decimal: digits only, no leading zero.
func number(s string, bits int) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, bits)
	if err != nil || strconv.FormatUint(n, 10) != s {
		return 0, fmt.Errorf("not a canonical number")
	}
	return n, nil
}
