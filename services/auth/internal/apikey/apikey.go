// Package apikey makes and checks the key material of project API keys.
//
// A key is a pair: a public key "pk-at-" + 26 lower-case base32 characters
// (128 random bits, safe to log and show), and a secret "sk-at-" + 43
// base64url characters (32 random bytes), shown once. Only SHA-256 of the
// secret is stored: the secret is high-entropy random, so a slow KDF would add
// nothing, and a plain digest lets the store find a key by its secret alone
// (Bearer auth) with an index lookup.
package apikey

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"fmt"
	"strings"
)

const (
	// PublicPrefix starts every public key.
	PublicPrefix = "pk-at-"
	// SecretPrefix starts every secret key.
	SecretPrefix = "sk-at-"

	publicBodyLen = 26 // base32 of 16 bytes, unpadded
	secretBodyLen = 43 // base64url of 32 bytes, unpadded
	hintTailLen   = 4
)

var publicEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Hash is the stored form of a secret.
type Hash [sha256.Size]byte

// Material is a freshly generated key. Secret must be shown to its owner once
// and then forgotten.
type Material struct {
	PublicKey string
	Secret    string
	Hash      Hash
	Hint      string
}

// Generate makes a new random key pair.
func Generate() (Material, error) {
	var pub [16]byte
	var sec [32]byte
	if _, err := rand.Read(pub[:]); err != nil {
		return Material{}, fmt.Errorf("generate public key: %w", err)
	}
	if _, err := rand.Read(sec[:]); err != nil {
		return Material{}, fmt.Errorf("generate secret key: %w", err)
	}
	secret := SecretPrefix + base64.RawURLEncoding.EncodeToString(sec[:])
	return Material{
		PublicKey: PublicPrefix + publicEncoding.EncodeToString(pub[:]),
		Secret:    secret,
		Hash:      HashSecret(secret),
		Hint:      Hint(secret),
	}, nil
}

// HashSecret is the digest a secret is stored and looked up by.
func HashSecret(secret string) Hash {
	return sha256.Sum256([]byte(secret))
}

// Hint is the recognisable but useless part of a secret shown in listings,
// e.g. "sk-at-...abcd".
func Hint(secret string) string {
	if len(secret) < len(SecretPrefix)+hintTailLen {
		return SecretPrefix + "..."
	}
	return SecretPrefix + "..." + secret[len(secret)-hintTailLen:]
}

// WellFormedSecret reports whether s has the shape of a secret key, so that
// garbage is refused without a database round trip.
func WellFormedSecret(s string) bool {
	body, ok := strings.CutPrefix(s, SecretPrefix)
	if !ok || len(body) != secretBodyLen {
		return false
	}
	_, err := base64.RawURLEncoding.Strict().DecodeString(body)
	return err == nil
}

// WellFormedPublic reports whether s has the shape of a public key.
func WellFormedPublic(s string) bool {
	body, ok := strings.CutPrefix(s, PublicPrefix)
	if !ok || len(body) != publicBodyLen {
		return false
	}
	_, err := publicEncoding.DecodeString(body)
	return err == nil
}
