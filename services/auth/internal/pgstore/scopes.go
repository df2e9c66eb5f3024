package pgstore

import (
	"fmt"
	"strings"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

// scopeNames is the stored form of a key's scopes (api_keys.scopes text[]).
func scopeNames(scopes []authv1.APIKeyScope) []string {
	out := make([]string, len(scopes))
	for i, s := range scopes {
		out[i] = tenancy.ScopeName(s)
	}
	return out
}

// scopesColumn scans api_keys.scopes, selected as
// array_to_string(k.scopes, ',') (the names contain no commas). A name it
// does not know fails the read: a key must never silently lose or gain a
// scope.
type scopesColumn struct{ dst *[]authv1.APIKeyScope }

// Scan implements sql.Scanner; pgx hands it a text column as a string.
func (c scopesColumn) Scan(src any) error {
	s, ok := src.(string)
	if !ok {
		return fmt.Errorf("scopes column: unexpected %T", src)
	}
	out := []authv1.APIKeyScope{}
	for name := range strings.SplitSeq(s, ",") {
		if name == "" {
			continue
		}
		scope, ok := tenancy.ParseScope(name)
		if !ok {
			return fmt.Errorf("scopes column: unknown scope %q", name)
		}
		out = append(out, scope)
	}
	*c.dst = out
	return nil
}
