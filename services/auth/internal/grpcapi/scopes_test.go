package grpcapi_test

import (
	"context"
	"slices"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
)

// Keys are created with the scopes asked for (INGEST and READ by default),
// listed with them, and can do only what their scopes allow.
func TestAPIKeyScopes(t *testing.T) {
	e := newEnv(t, envOptions{})
	a := e.newTenant(t) // bootstrapped: every scope
	const (
		ingest = authv1.APIKeyScope_API_KEY_SCOPE_INGEST
		read   = authv1.APIKeyScope_API_KEY_SCOPE_READ
		admin  = authv1.APIKeyScope_API_KEY_SCOPE_ADMIN
	)
	tests := []struct {
		name        string
		scopes      []authv1.APIKeyScope
		want        []authv1.APIKeyScope
		listProject codes.Code // ListProjects needs PROJECTS_READ
		createKey   codes.Code // CreateAPIKey needs KEYS_MANAGE
	}{
		{name: "default", want: []authv1.APIKeyScope{ingest, read}, listProject: codes.OK, createKey: codes.PermissionDenied},
		{name: "ingest only", scopes: []authv1.APIKeyScope{ingest}, want: []authv1.APIKeyScope{ingest},
			listProject: codes.PermissionDenied, createKey: codes.PermissionDenied},
		{name: "admin", scopes: []authv1.APIKeyScope{admin, admin}, want: []authv1.APIKeyScope{admin}, listProject: codes.OK, createKey: codes.OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			created, err := e.client.CreateAPIKey(a.ctx(), &authv1.CreateAPIKeyRequest{Scopes: tt.scopes})
			if err != nil {
				t.Fatal(err)
			}
			if got := created.GetApiKey().GetScopes(); !slices.Equal(got, tt.want) {
				t.Fatalf("created with scopes %v, want %v", got, tt.want)
			}
			list, err := e.client.ListAPIKeys(a.ctx(), &authv1.ListAPIKeysRequest{})
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, k := range list.GetApiKeys() {
				if k.GetId() == created.GetApiKey().GetId() {
					found = true
					if !slices.Equal(k.GetScopes(), tt.want) {
						t.Fatalf("listed with scopes %v, want %v", k.GetScopes(), tt.want)
					}
				}
			}
			if !found {
				t.Fatal("created key not listed")
			}
			ctx := bearer(created.GetSecretKey())
			_, err = e.client.ListProjects(ctx, &authv1.ListProjectsRequest{})
			wantCode(t, err, tt.listProject)
			_, err = e.client.CreateAPIKey(ctx, &authv1.CreateAPIKeyRequest{})
			wantCode(t, err, tt.createKey)
		})
	}
	_, err := e.client.CreateAPIKey(a.ctx(), &authv1.CreateAPIKeyRequest{Scopes: []authv1.APIKeyScope{authv1.APIKeyScope_API_KEY_SCOPE_UNSPECIFIED}})
	wantCode(t, err, codes.InvalidArgument)
}

// Authenticate needs no credentials of its own and answers with the
// principal of the credentials in the request, scopes included.
func TestAuthenticateRPC(t *testing.T) {
	e := newEnv(t, envOptions{})
	a := e.newTenant(t)
	resp, err := e.client.Authenticate(context.Background(), &authv1.AuthenticateRequest{Authorization: "Bearer " + a.sk})
	if err != nil {
		t.Fatal(err)
	}
	p := resp.GetPrincipal()
	if p.GetKind() != authv1.PrincipalKind_PRINCIPAL_KIND_API_KEY || p.GetKeyId() != a.keyID || p.GetProjectId() != a.projectID ||
		p.GetOrganizationId() != a.orgID || len(p.GetScopes()) != 3 {
		t.Fatalf("principal %v", p)
	}
	for _, h := range []string{"", "Token x", "Bearer sk-at-unknown", "Bearer not.a.jwt"} {
		_, err := e.client.Authenticate(metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+a.sk),
			&authv1.AuthenticateRequest{Authorization: h})
		wantCode(t, err, codes.Unauthenticated)
	}
}
