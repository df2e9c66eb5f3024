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

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
)

// Principal is who is calling: an API key, a user or another service, with
// the organization and project the call acts on.
type Principal struct {
	Kind Kind
	// API keys.
	KeyID     string
	PublicKey string
	Scopes    []authv1.APIKeyScope
	// Users: their effective role in ProjectID (project override, else the
	// organization role), or in OrganizationID when no project is named.
	UserID string
	Email  string
	Role   authv1.Role
	// Services: the calling service's name.
	Service string

	OrganizationID string
	ProjectID      string
}

// Kind is what kind of caller a principal is.
type Kind int

// Kinds of principals. The zero value is an API key, which is what every
// principal was before users and services could call.
const (
	KindAPIKey Kind = iota
	KindUser
	KindService
)

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
