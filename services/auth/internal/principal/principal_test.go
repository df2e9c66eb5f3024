package principal

import (
	"context"
	"encoding/base64"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/agenttrace/agenttrace/pkg/authn"
	"github.com/agenttrace/agenttrace/pkg/config"
	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/pkg/jwtkeys"
	"github.com/agenttrace/agenttrace/services/auth/internal/identity"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

const (
	secret      = "principal-test-secret-0123456789abcdef"
	otherSecret = "principal-test-other-secret-0123456789"
	keySecret   = "sk-at-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE"
)

var (
	userID    = uuid.MustParse("0190a000-0000-7000-8000-000000000001")
	orgID     = uuid.MustParse("0190a000-0000-7000-8000-0000000000a1")
	projectID = uuid.MustParse("0190a000-0000-7000-8000-0000000000b1")
	brokenID  = uuid.MustParse("0190a000-0000-7000-8000-0000000000ee") // the database fails for it
	busyID    = uuid.MustParse("0190a000-0000-7000-8000-000000000002") // a user in two organizations
	keyP      = authn.Principal{Kind: authn.KindAPIKey, KeyID: "k1", PublicKey: "pk-at-x", ProjectID: "p", OrganizationID: "o",
		Scopes: []authv1.APIKeyScope{authv1.APIKeyScope_API_KEY_SCOPE_INGEST}}
	errDB = errors.New("database gone")
)

// fakeKeys knows one secret.
type fakeKeys struct{ asked []authn.Credentials }

func (k *fakeKeys) Validate(_ context.Context, c authn.Credentials) (authn.Principal, error) {
	k.asked = append(k.asked, c)
	if c.SecretKey != keySecret {
		return authn.Principal{}, authn.ErrInvalidCredentials
	}
	return keyP, nil
}

// fakeRoles: the user is a VIEWER of orgID with an ADMIN override in
// projectID.
type fakeRoles struct{}

func (fakeRoles) EffectiveProjectRole(_ context.Context, u, p uuid.UUID) (uuid.UUID, authv1.Role, error) {
	switch {
	case p == brokenID:
		return uuid.Nil, 0, errDB
	case u == userID && p == projectID:
		return orgID, authv1.Role_ROLE_ADMIN, nil
	}
	return uuid.Nil, 0, tenancy.ErrNotFound
}

func (fakeRoles) GetMembership(_ context.Context, o, u uuid.UUID) (identity.Membership, error) {
	switch {
	case o == brokenID:
		return identity.Membership{}, errDB
	case u == userID && o == orgID:
		return identity.Membership{OrganizationID: o, UserID: u, Role: authv1.Role_ROLE_VIEWER}, nil
	}
	return identity.Membership{}, tenancy.ErrNotFound
}

func (fakeRoles) ListUserMemberships(_ context.Context, u uuid.UUID) ([]identity.Membership, error) {
	switch u {
	case brokenID:
		return nil, errDB
	case userID:
		return []identity.Membership{{OrganizationID: orgID, UserID: u, Role: authv1.Role_ROLE_VIEWER}}, nil
	case busyID:
		return []identity.Membership{{OrganizationID: orgID, UserID: u}, {OrganizationID: uuid.New(), UserID: u}}, nil
	}
	return nil, nil
}

func ring(t testing.TB, s string) *jwtkeys.Ring {
	t.Helper()
	r, err := jwtkeys.NewRing(jwtkeys.Config{Secret: config.Secret(s)})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func basic(pk, sk string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(pk+":"+sk))
}

func TestAuthenticate(t *testing.T) {
	r := ring(t, secret)
	now := time.Now()
	userTok, _ := r.MintUserToken(userID.String(), "u@example.com", "jti-1", now, time.Minute)
	strangerTok, _ := r.MintUserToken(uuid.NewString(), "s@example.com", "jti-2", now, time.Minute)
	badSubject, _ := r.MintUserToken("not-a-uuid", "", "jti-3", now, time.Minute)
	expired, _ := r.MintUserToken(userID.String(), "u@example.com", "jti-4", now.Add(-time.Hour), time.Minute)
	foreign, _ := ring(t, otherSecret).MintUserToken(userID.String(), "u@example.com", "jti-5", now, time.Minute)
	svcTok, _ := r.MintServiceToken("worker", now)
	busyTok, _ := r.MintUserToken(busyID.String(), "b@example.com", "jti-6", now, time.Minute)
	brokenTok, _ := r.MintUserToken(brokenID.String(), "x@example.com", "jti-7", now, time.Minute)

	user := func(project, org string, role authv1.Role) authn.Principal {
		return authn.Principal{Kind: authn.KindUser, UserID: userID.String(), Email: "u@example.com", ProjectID: project, OrganizationID: org, Role: role}
	}
	tests := []struct {
		name    string
		req     authn.Request
		want    authn.Principal
		wantErr error // errDB: any error that is not a refusal
		wantMsg string
	}{
		{name: "bearer key", req: authn.Request{Authorization: "Bearer " + keySecret}, want: keyP},
		{name: "basic key", req: authn.Request{Authorization: basic("pk-at-x", keySecret)}, want: keyP},
		{name: "key ignores the project", req: authn.Request{Authorization: "Bearer " + keySecret, ProjectID: projectID.String()}, want: keyP},
		{name: "unknown key", req: authn.Request{Authorization: "Bearer sk-at-nope"}, wantErr: authn.ErrInvalidCredentials},
		{name: "basic with a jwt is a key", req: authn.Request{Authorization: basic("pk", userTok)}, wantErr: authn.ErrInvalidCredentials},
		{name: "no authorization", req: authn.Request{}, wantErr: authn.ErrNoCredentials},
		{name: "unknown scheme", req: authn.Request{Authorization: "Token " + userTok}, wantErr: authn.ErrNoCredentials},

		{name: "user, nothing named", req: authn.Request{Authorization: "Bearer " + userTok}, want: user("", "", authv1.Role_ROLE_UNSPECIFIED)},
		{name: "user in project (override)", req: authn.Request{Authorization: "Bearer " + userTok, ProjectID: projectID.String()},
			want: user(projectID.String(), orgID.String(), authv1.Role_ROLE_ADMIN)},
		{name: "user in project, organization role", req: authn.Request{Authorization: "Bearer " + userTok, ProjectID: projectID.String(), OrganizationRole: true},
			want: user(projectID.String(), orgID.String(), authv1.Role_ROLE_VIEWER)},
		{name: "user in organization", req: authn.Request{Authorization: "Bearer " + userTok, OrganizationID: orgID.String()},
			want: user("", orgID.String(), authv1.Role_ROLE_VIEWER)},
		{name: "project wins over organization", req: authn.Request{Authorization: "Bearer " + userTok, ProjectID: projectID.String(), OrganizationID: uuid.NewString()},
			want: user(projectID.String(), orgID.String(), authv1.Role_ROLE_ADMIN)},
		{name: "not a member of the project's organization", req: authn.Request{Authorization: "Bearer " + strangerTok, ProjectID: projectID.String()}, wantErr: authn.ErrNoAccess},
		{name: "not a member of the organization", req: authn.Request{Authorization: "Bearer " + strangerTok, OrganizationID: orgID.String()}, wantErr: authn.ErrNoAccess},
		{name: "no such project", req: authn.Request{Authorization: "Bearer " + userTok, ProjectID: uuid.NewString()}, wantErr: authn.ErrNoAccess},
		{name: "malformed project", req: authn.Request{Authorization: "Bearer " + userTok, ProjectID: "p1' OR 1=1"}, wantErr: authn.ErrNoAccess},
		{name: "malformed organization", req: authn.Request{Authorization: "Bearer " + userTok, OrganizationID: "o1"}, wantErr: authn.ErrNoAccess},
		{name: "project lookup fails", req: authn.Request{Authorization: "Bearer " + userTok, ProjectID: brokenID.String()}, wantErr: errDB},
		{name: "organization lookup fails", req: authn.Request{Authorization: "Bearer " + userTok, OrganizationID: brokenID.String()}, wantErr: errDB},
		{name: "user's only organization by default", req: authn.Request{Authorization: "Bearer " + userTok, DefaultOrganization: true},
			want: user("", orgID.String(), authv1.Role_ROLE_VIEWER)},
		{name: "named organization wins over the default", req: authn.Request{Authorization: "Bearer " + strangerTok, OrganizationID: orgID.String(), DefaultOrganization: true},
			wantErr: authn.ErrNoAccess},
		{name: "no default among two organizations", req: authn.Request{Authorization: "Bearer " + busyTok, DefaultOrganization: true},
			wantErr: authn.ErrTargetRequired, wantMsg: "organization_id: required: this user belongs to 2 organizations; name one"},
		{name: "no default without organizations", req: authn.Request{Authorization: "Bearer " + strangerTok, DefaultOrganization: true},
			wantErr: authn.ErrTargetRequired, wantMsg: "organization_id: required: this user belongs to no organization"},
		{name: "memberships lookup fails", req: authn.Request{Authorization: "Bearer " + brokenTok, DefaultOrganization: true}, wantErr: errDB},
		{name: "key ignores the default", req: authn.Request{Authorization: "Bearer " + keySecret, DefaultOrganization: true}, want: keyP},
		{name: "user subject not an id", req: authn.Request{Authorization: "Bearer " + badSubject}, wantErr: authn.ErrInvalidCredentials},
		{name: "expired user token", req: authn.Request{Authorization: "Bearer " + expired}, wantErr: authn.ErrInvalidCredentials},
		{name: "token of another installation", req: authn.Request{Authorization: "Bearer " + foreign}, wantErr: authn.ErrInvalidCredentials},
		{name: "garbage token", req: authn.Request{Authorization: "Bearer eyJhbGciOiJub25lIn0.e30."}, wantErr: authn.ErrInvalidCredentials},

		{name: "service", req: authn.Request{Authorization: "Bearer " + svcTok}, want: authn.Principal{Kind: authn.KindService, Service: "worker"}},
		{name: "service ignores the project", req: authn.Request{Authorization: "Bearer " + svcTok, ProjectID: projectID.String()},
			want: authn.Principal{Kind: authn.KindService, Service: "worker"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := New(Config{Keys: &fakeKeys{}, Tokens: r, Roles: fakeRoles{}})
			got, err := res.Authenticate(context.Background(), tt.req)
			switch {
			case errors.Is(tt.wantErr, errDB):
				if !errors.Is(err, errDB) || errors.Is(err, authn.ErrNoAccess) {
					t.Fatalf("Authenticate = %+v, %v; want the database error", got, err)
				}
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.wantMsg) {
					t.Fatalf("Authenticate = %+v, %v; want %v (%q)", got, err, tt.wantErr, tt.wantMsg)
				}
			default:
				if err != nil || !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("Authenticate = %+v, %v; want %+v", got, err, tt.want)
				}
			}
			if err != nil && strings.Contains(err.Error(), "eyJ") {
				t.Fatalf("error %q echoes the token", err)
			}
		})
	}
}

// FuzzAuthenticate: whatever the header, the answer is a principal or one
// of the documented refusals, never a panic; and nothing but a real key or
// token ever authenticates.
func FuzzAuthenticate(f *testing.F) {
	r := ring(f, secret)
	tok, _ := r.MintUserToken(userID.String(), "", "j", time.Now(), time.Hour)
	for _, s := range []string{"", "Bearer " + tok, "Bearer " + keySecret, basic("pk", keySecret), "Bearer sk-at-", "Basic Og==", "Bearer a.b.c", "bearer \x00"} {
		f.Add(s, projectID.String())
	}
	f.Fuzz(func(t *testing.T, authorization, project string) {
		res := New(Config{Keys: &fakeKeys{}, Tokens: r, Roles: fakeRoles{}})
		p, err := res.Authenticate(context.Background(), authn.Request{Authorization: authorization, ProjectID: project})
		if err != nil {
			if !errors.Is(err, authn.ErrNoCredentials) && !errors.Is(err, authn.ErrInvalidCredentials) && !errors.Is(err, authn.ErrNoAccess) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if p.Kind == authn.KindUser && !strings.Contains(authorization, tok) {
			t.Fatalf("%q authenticated as a user", authorization)
		}
		if p.Kind == authn.KindAPIKey && !strings.Contains(authorization, "Basic") && !strings.Contains(authorization, keySecret) {
			t.Fatalf("%q authenticated as a key", authorization)
		}
	})
}
