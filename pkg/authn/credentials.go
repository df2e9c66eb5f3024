package authn

import (
	"encoding/base64"
	"strings"
)

// Credentials are a parsed Authorization header: a Basic key pair, or the
// token of a Bearer header (an API key secret or a JWT).
type Credentials struct {
	PublicKey string // empty for Bearer
	SecretKey string
}

// ParseAuthorization reads an Authorization header value: "Basic
// base64(public:secret)" (padding optional) or "Bearer token", the scheme
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
