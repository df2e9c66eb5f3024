package tenancy

import (
	"slices"
	"strings"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
)

// DefaultScopes are what a key can do when its creator names no scopes:
// send and read traces, as every key could before scopes existed.
var DefaultScopes = []authv1.APIKeyScope{authv1.APIKeyScope_API_KEY_SCOPE_INGEST, authv1.APIKeyScope_API_KEY_SCOPE_READ}

// AllScopes are given to the key Bootstrap creates: it is an installation's
// first credential, and must be able to create the others.
var AllScopes = []authv1.APIKeyScope{authv1.APIKeyScope_API_KEY_SCOPE_INGEST, authv1.APIKeyScope_API_KEY_SCOPE_READ, authv1.APIKeyScope_API_KEY_SCOPE_ADMIN}

// cleanScopes checks the requested scopes and returns them sorted without
// duplicates; none means DefaultScopes.
func cleanScopes(scopes []authv1.APIKeyScope) ([]authv1.APIKeyScope, error) {
	if len(scopes) == 0 {
		return slices.Clone(DefaultScopes), nil
	}
	for _, s := range scopes {
		if !slices.Contains(AllScopes, s) {
			return nil, invalid("scopes", "each must be API_KEY_SCOPE_INGEST, API_KEY_SCOPE_READ or API_KEY_SCOPE_ADMIN")
		}
	}
	out := slices.Clone(scopes)
	slices.Sort(out)
	return slices.Compact(out), nil
}

const scopePrefix = "API_KEY_SCOPE_"

// ScopeName is how a scope is stored and audited: its proto name without
// the prefix (INGEST, READ, ADMIN).
func ScopeName(s authv1.APIKeyScope) string {
	return strings.TrimPrefix(s.String(), scopePrefix)
}

// ParseScope reads a stored scope name; false for anything but a known,
// specified scope.
func ParseScope(name string) (authv1.APIKeyScope, bool) {
	v, ok := authv1.APIKeyScope_value[scopePrefix+name]
	s := authv1.APIKeyScope(v)
	return s, ok && slices.Contains(AllScopes, s)
}

// scopeList joins scope names for an audit record.
func scopeList(scopes []authv1.APIKeyScope) string {
	names := make([]string, len(scopes))
	for i, s := range scopes {
		names[i] = ScopeName(s)
	}
	return strings.Join(names, ",")
}
