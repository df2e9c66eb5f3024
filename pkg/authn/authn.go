// Package authn authenticates every gRPC call of every AgentTrace service.
//
// Callers present a project API key in the "authorization" metadata, either
// "Basic base64(public:secret)" or "Bearer secret". The interceptor resolves
// it through a Validator (the auth service, behind a short-lived cache that
// revocation notices evict at once) and puts the Principal in the context.
package authn

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
)

// Principal is who is calling: an API key and the project it belongs to.
type Principal struct {
	KeyID          string
	PublicKey      string
	ProjectID      string
	OrganizationID string
}

// Credentials are what the caller presented.
type Credentials struct {
	PublicKey string // empty for Bearer
	SecretKey string
}

var (
	// ErrNoCredentials: the call carried no usable authorization.
	ErrNoCredentials = errors.New("missing or malformed authorization")
	// ErrInvalidKey: the key is unknown, wrong or revoked.
	ErrInvalidKey = errors.New("invalid or revoked API key")
)

// Validator resolves credentials to a principal. It returns ErrInvalidKey for
// keys that are not valid and any other error when it cannot tell.
type Validator interface {
	Validate(ctx context.Context, c Credentials) (Principal, error)
}

// ParseAuthorization reads an Authorization header value: "Basic
// base64(public:secret)" (padding optional) or "Bearer secret", the scheme
// in any case. Anything else is ErrNoCredentials.
func ParseAuthorization(h string) (Credentials, error) {
	scheme, rest, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok {
		return Credentials{}, ErrNoCredentials
	}
	rest = strings.TrimSpace(rest)
	switch strings.ToLower(scheme) {
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			// Some clients drop the padding; the pair is still unambiguous.
			if raw, err = base64.RawStdEncoding.DecodeString(rest); err != nil {
				return Credentials{}, ErrNoCredentials
			}
		}
		pk, sk, ok := strings.Cut(string(raw), ":")
		if !ok || pk == "" || sk == "" {
			return Credentials{}, ErrNoCredentials
		}
		return Credentials{PublicKey: pk, SecretKey: sk}, nil
	case "bearer":
		if rest == "" {
			return Credentials{}, ErrNoCredentials
		}
		return Credentials{SecretKey: rest}, nil
	}
	return Credentials{}, ErrNoCredentials
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the authenticated caller.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
