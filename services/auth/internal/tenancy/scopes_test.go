package tenancy

import (
	"errors"
	"slices"
	"testing"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
)

func TestCleanScopes(t *testing.T) {
	const (
		ingest = authv1.APIKeyScope_API_KEY_SCOPE_INGEST
		read   = authv1.APIKeyScope_API_KEY_SCOPE_READ
		admin  = authv1.APIKeyScope_API_KEY_SCOPE_ADMIN
	)
	tests := []struct {
		name    string
		in      []authv1.APIKeyScope
		want    []authv1.APIKeyScope
		wantErr bool
	}{
		{name: "default", in: nil, want: []authv1.APIKeyScope{ingest, read}},
		{name: "ingest only", in: []authv1.APIKeyScope{ingest}, want: []authv1.APIKeyScope{ingest}},
		{name: "sorted and deduplicated", in: []authv1.APIKeyScope{admin, ingest, admin}, want: []authv1.APIKeyScope{ingest, admin}},
		{name: "unspecified", in: []authv1.APIKeyScope{authv1.APIKeyScope_API_KEY_SCOPE_UNSPECIFIED}, wantErr: true},
		{name: "unknown", in: []authv1.APIKeyScope{read, 42}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cleanScopes(tt.in)
			if tt.wantErr {
				var fe *FieldError
				if !errors.As(err, &fe) || fe.Field != "scopes" {
					t.Fatalf("cleanScopes = %v, %v; want a FieldError on scopes", got, err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("cleanScopes = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
	// The default is a copy: changing one key's scopes cannot change it.
	got, _ := cleanScopes(nil)
	got[0] = admin
	if DefaultScopes[0] != ingest {
		t.Fatal("cleanScopes returned DefaultScopes itself")
	}
}

func TestScopeNames(t *testing.T) {
	for _, s := range AllScopes {
		got, ok := ParseScope(ScopeName(s))
		if !ok || got != s {
			t.Errorf("ParseScope(ScopeName(%v)) = %v, %v", s, got, ok)
		}
	}
	if ScopeName(authv1.APIKeyScope_API_KEY_SCOPE_INGEST) != "INGEST" {
		t.Errorf("ScopeName(INGEST) = %q", ScopeName(authv1.APIKeyScope_API_KEY_SCOPE_INGEST))
	}
	for _, name := range []string{"", "UNSPECIFIED", "ingest", "API_KEY_SCOPE_READ", "OWNER"} {
		if s, ok := ParseScope(name); ok {
			t.Errorf("ParseScope(%q) = %v, accepted", name, s)
		}
	}
	if got := scopeList([]authv1.APIKeyScope{authv1.APIKeyScope_API_KEY_SCOPE_READ, authv1.APIKeyScope_API_KEY_SCOPE_ADMIN}); got != "READ,ADMIN" {
		t.Errorf("scopeList = %q", got)
	}
}
