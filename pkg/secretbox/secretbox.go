// Package secretbox encrypts the secrets the platform must keep (such as
// LLM provider API keys) with the installation's encryption key: AES-256-GCM
// with a random nonce, under versioned keys so the key can be rotated.
//
// A ciphertext is
//
//	version (1 byte) | key id (4 bytes) | nonce (12 bytes) | sealed data and tag
//
// The key id is the first 4 bytes of a SHA-256 of the key, so Open finds the
// key a ciphertext was sealed with among the current and previous ones. The
// caller's associated data binds a ciphertext to its place (for example
// "llm_connection:<id>:api_key"): moved to another row it no longer opens.
//
// Rotation: make the new key AGENTTRACE_ENCRYPTION_KEY and list the old one
// in AGENTTRACE_ENCRYPTION_PREVIOUS_KEYS. Everything still opens; new
// ciphertexts use the new key, and NeedsReencrypt tells which stored ones
// should be sealed again before the old key is dropped.
package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/agenttrace/agenttrace/pkg/config"
)

// Config carries the keys. Each is 32 bytes written as standard or URL-safe
// base64 (padded or not) or as 64 hex digits; `openssl rand -base64 32`
// makes one.
type Config struct {
	// Key seals and opens.
	Key config.Secret `env:"ENCRYPTION_KEY"`
	// PreviousKeys (comma-separated) only open, during a rotation.
	PreviousKeys config.Secret `env:"ENCRYPTION_PREVIOUS_KEYS"`
}

const (
	// KeySize is the length of a key in bytes (AES-256).
	KeySize = 32

	formatVersion = 1
	keyIDSize     = 4
	nonceSize     = 12
	headerSize    = 1 + keyIDSize + nonceSize
	tagSize       = 16
)

var (
	// ErrNoKey: the configuration has no encryption key.
	ErrNoKey = errors.New("AGENTTRACE_ENCRYPTION_KEY is not set: generate one with `openssl rand -base64 32`")
	// ErrInvalidKey: a configured key is not 32 bytes in base64 or hex.
	ErrInvalidKey = errors.New("encryption key must be 32 bytes written as base64 or as 64 hex digits (`openssl rand -base64 32`)")
	// ErrOpen: a ciphertext did not open: malformed, sealed under a key
	// not configured, tampered with, or bound to other associated data.
	// Deliberately one error for all, so that nothing tells them apart.
	ErrOpen = errors.New("secret cannot be decrypted")
)

type keyID [keyIDSize]byte

// Box seals and opens secrets. It is safe for concurrent use.
type Box struct {
	current keyID
	keys    map[keyID]cipher.AEAD
}

// New builds a Box from cfg. Errors name the setting at fault but never
// show any part of a key.
func New(cfg Config) (*Box, error) {
	if strings.TrimSpace(cfg.Key.Value()) == "" {
		return nil, ErrNoKey
	}
	b := &Box{keys: map[keyID]cipher.AEAD{}}
	cur, err := b.add(cfg.Key.Value())
	if err != nil {
		return nil, fmt.Errorf("AGENTTRACE_ENCRYPTION_KEY: %w", err)
	}
	b.current = cur
	for i, s := range strings.Split(cfg.PreviousKeys.Value(), ",") {
		if strings.TrimSpace(s) == "" {
			continue
		}
		if _, err := b.add(s); err != nil {
			return nil, fmt.Errorf("AGENTTRACE_ENCRYPTION_PREVIOUS_KEYS entry %d: %w", i+1, err)
		}
	}
	return b, nil
}

// add registers a key and returns its id. The same key listed twice is
// fine; two keys with the same id (a 1 in 2^32 chance) are refused, since
// Open could not tell them apart.
func (b *Box) add(s string) (keyID, error) {
	raw, err := ParseKey(s)
	if err != nil {
		return keyID{}, err
	}
	id := idOf(raw)
	block, err := aes.NewCipher(raw)
	if err != nil {
		return keyID{}, fmt.Errorf("%w: %w", ErrInvalidKey, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return keyID{}, fmt.Errorf("%w: %w", ErrInvalidKey, err)
	}
	if _, dup := b.keys[id]; dup {
		return id, nil
	}
	b.keys[id] = aead
	return id, nil
}

// ParseKey decodes a key written as 64 hex digits or as base64 (standard or
// URL-safe, padded or not) of exactly 32 bytes.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) == 2*KeySize {
		if raw, err := hex.DecodeString(s); err == nil {
			return raw, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if raw, err := enc.DecodeString(s); err == nil {
			if len(raw) == KeySize {
				return raw, nil
			}
			return nil, fmt.Errorf("%w (decoded %d bytes)", ErrInvalidKey, len(raw))
		}
	}
	return nil, fmt.Errorf("%w (got %d characters that are neither)", ErrInvalidKey, len(s))
}

// idOf derives a key's id. Only 4 bytes of a hash of a 256-bit random key
// are published, which says nothing useful about it.
func idOf(raw []byte) keyID {
	sum := sha256.Sum256(append([]byte("agenttrace secretbox key id\x00"), raw...))
	var id keyID
	copy(id[:], sum[:keyIDSize])
	return id
}

// Seal encrypts plaintext under the current key, bound to aad.
func (b *Box) Seal(plaintext, aad []byte) ([]byte, error) {
	out := make([]byte, headerSize, headerSize+len(plaintext)+tagSize)
	out[0] = formatVersion
	copy(out[1:], b.current[:])
	if _, err := rand.Read(out[1+keyIDSize : headerSize]); err != nil {
		return nil, fmt.Errorf("secretbox nonce: %w", err)
	}
	aead := b.keys[b.current]
	return aead.Seal(out, out[1+keyIDSize:headerSize], plaintext, additional(out[:1+keyIDSize], aad)), nil
}

// Open decrypts a ciphertext made by Seal with the same aad, under the
// current key or a previous one. Any failure is ErrOpen.
func (b *Box) Open(ciphertext, aad []byte) ([]byte, error) {
	if len(ciphertext) < headerSize+tagSize || ciphertext[0] != formatVersion {
		return nil, ErrOpen
	}
	aead, ok := b.keys[keyID(ciphertext[1:1+keyIDSize])]
	if !ok {
		return nil, ErrOpen
	}
	plain, err := aead.Open(nil, ciphertext[1+keyIDSize:headerSize], ciphertext[headerSize:],
		additional(ciphertext[:1+keyIDSize], aad))
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}

// NeedsReencrypt reports whether a ciphertext was not sealed under the
// current key (or in the current format) and should be sealed again.
func (b *Box) NeedsReencrypt(ciphertext []byte) bool {
	return len(ciphertext) < headerSize || ciphertext[0] != formatVersion ||
		keyID(ciphertext[1:1+keyIDSize]) != b.current
}

// additional is GCM's associated data: the header's version and key id (so
// neither can be swapped) and the caller's aad, length-prefixed so that
// the boundary between them cannot shift.
func additional(header, aad []byte) []byte {
	out := make([]byte, 0, len(header)+8+len(aad))
	out = append(out, header...)
	n := uint64(len(aad))
	for i := 7; i >= 0; i-- {
		out = append(out, byte(n>>(8*i)))
	}
	return append(out, aad...)
}
