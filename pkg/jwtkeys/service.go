package jwtkeys

import (
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// ServiceAudience is the aud of service tokens; user tokens use another, so
// one can never pass for the other.
const ServiceAudience = "agenttrace-internal"

// ServiceTTL is how long a minted service token lives.
const ServiceTTL = 5 * time.Minute

const servicePrefix = "service:"

// MintServiceToken returns a short-lived token saying "I am service name",
// for calls to internal RPCs (Authorization: Bearer <token>).
func (r *Ring) MintServiceToken(name string, now time.Time) (string, error) {
	return r.Sign(jwt.RegisteredClaims{
		Issuer:    Issuer,
		Subject:   servicePrefix + name,
		Audience:  jwt.ClaimStrings{ServiceAudience},
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now.Add(-5 * time.Second)),
		ExpiresAt: jwt.NewNumericDate(now.Add(ServiceTTL)),
	})
}

// VerifyServiceToken returns the calling service's name.
func (r *Ring) VerifyServiceToken(token string) (string, error) {
	var c jwt.RegisteredClaims
	if err := r.Parse(token, &c, ServiceAudience); err != nil {
		return "", err
	}
	name, ok := strings.CutPrefix(c.Subject, servicePrefix)
	if !ok || name == "" {
		return "", fmt.Errorf("%w: subject is not a service", ErrInvalidToken)
	}
	return name, nil
}
