// Package jwtkeys signs and verifies the platform's JWTs with the
// installation's jwt-secret: user access tokens (issued by auth) and service
// tokens (minted by a service to call another's internal RPCs).
//
// Tokens are HS256 only (any other alg, "none" included, is rejected) and
// carry a key id derived from the secret, so the secret can be rotated: set
// the new one as JWT_SECRET and the old one as JWT_PREVIOUS_SECRET, and
// tokens signed with either verify until the old ones expire.
package jwtkeys

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/agenttrace/agenttrace/pkg/config"
)

// Issuer is the iss claim of every token.
const Issuer = "agenttrace"

// MinSecretBytes is the shortest secret accepted (HS256 wants 256 bits).
const MinSecretBytes = 32

// Config carries the signing secrets.
type Config struct {
	Secret         config.Secret `env:"JWT_SECRET"`
	PreviousSecret config.Secret `env:"JWT_PREVIOUS_SECRET"`
}

// ErrInvalidToken is returned for any token that does not verify: bad
// signature, unknown key id, wrong algorithm, expired, wrong audience, ...
var ErrInvalidToken = errors.New("invalid token")

type key struct {
	id     string
	secret []byte
}

// Ring holds the current signing key and, during a rotation, the previous one.
type Ring struct {
	current  key
	previous *key
}

// NewRing builds the key ring; the secret is required.
func NewRing(cfg Config) (*Ring, error) {
	if len(cfg.Secret.Value()) < MinSecretBytes {
		return nil, fmt.Errorf("AGENTTRACE_JWT_SECRET must be at least %d bytes", MinSecretBytes)
	}
	r := &Ring{current: newKey(cfg.Secret.Value())}
	if p := cfg.PreviousSecret.Value(); p != "" {
		if len(p) < MinSecretBytes {
			return nil, fmt.Errorf("AGENTTRACE_JWT_PREVIOUS_SECRET must be at least %d bytes", MinSecretBytes)
		}
		k := newKey(p)
		r.previous = &k
	}
	return r, nil
}

func newKey(secret string) key {
	sum := sha256.Sum256([]byte("agenttrace-jwt-kid:" + secret))
	return key{id: hex.EncodeToString(sum[:6]), secret: []byte(secret)}
}

// Sign signs claims with the current key.
func (r *Ring) Sign(claims jwt.Claims) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	t.Header["kid"] = r.current.id
	s, err := t.SignedString(r.current.secret)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

// Parse verifies token into claims: HS256, a known key id, the platform
// issuer, the given audience, and an unexpired exp (required).
func (r *Ring) Parse(token string, claims jwt.Claims, audience string) error {
	_, err := jwt.ParseWithClaims(token, claims, r.keyFunc,
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(Issuer),
		jwt.WithAudience(audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(5*time.Second),
	)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	return nil
}

func (r *Ring) keyFunc(t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	switch {
	case kid == r.current.id:
		return r.current.secret, nil
	case r.previous != nil && kid == r.previous.id:
		return r.previous.secret, nil
	}
	return nil, errors.New("unknown key id")
}
