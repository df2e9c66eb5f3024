package authz

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
)

// callers are the columns of the expected matrix.
var callers = []struct {
	name string
	p    Principal
}{
	{"OWNER", Principal{Kind: KindUser, UserID: "u", Role: authv1.Role_ROLE_OWNER}},
	{"ADMIN", Principal{Kind: KindUser, UserID: "u", Role: authv1.Role_ROLE_ADMIN}},
	{"MEMBER", Principal{Kind: KindUser, UserID: "u", Role: authv1.Role_ROLE_MEMBER}},
	{"VIEWER", Principal{Kind: KindUser, UserID: "u", Role: authv1.Role_ROLE_VIEWER}},
	// A signed-in user who named no project or organization.
	{"NOROLE", Principal{Kind: KindUser, UserID: "u"}},
	{"INGEST", Principal{Kind: KindAPIKey, KeyID: "k", Scopes: []authv1.APIKeyScope{authv1.APIKeyScope_API_KEY_SCOPE_INGEST}}},
	{"READ", Principal{Kind: KindAPIKey, KeyID: "k", Scopes: []authv1.APIKeyScope{authv1.APIKeyScope_API_KEY_SCOPE_READ}}},
	{"KADMIN", Principal{Kind: KindAPIKey, KeyID: "k", Scopes: []authv1.APIKeyScope{authv1.APIKeyScope_API_KEY_SCOPE_ADMIN}}},
	{"SERVICE", Principal{Kind: KindService, Service: "worker"}},
	// No credentials at all: the zero principal.
	{"ANON", Principal{}},
}

// expected is the permission matrix, written out by hand: Y allowed, . denied.
// Method names are relative to "/agenttrace." (probes and reflection are
// checked separately). It is deliberately not derived from the table.
const expected = `
method                                          OWNER ADMIN MEMBER VIEWER NOROLE INGEST READ KADMIN SERVICE ANON
ingest.v1.IngestService/IngestBatch             Y     Y     Y      .      .      Y      .    .      .       .
ingest.v1.IngestService/DeleteTrace             Y     Y     .      .      .      .      .    Y      .       .
query.v1.QueryService/GetTrace                  Y     Y     Y      Y      .      .      Y    .      .       .
query.v1.QueryService/GetObservation            Y     Y     Y      Y      .      .      Y    .      .       .
query.v1.QueryService/ListTraces                Y     Y     Y      Y      .      .      Y    .      .       .
query.v1.QueryService/ListObservations          Y     Y     Y      Y      .      .      Y    .      .       .
query.v1.QueryService/ListSessions              Y     Y     Y      Y      .      .      Y    .      .       .
query.v1.QueryService/GetSession                Y     Y     Y      Y      .      .      Y    .      .       .
query.v1.QueryService/ListScores                Y     Y     Y      Y      .      .      Y    .      .       .
query.v1.QueryService/QueryMetrics              Y     Y     Y      Y      .      .      Y    .      .       .
auth.v1.AuthService/CreateProject               Y     Y     .      .      .      .      .    Y      .       .
auth.v1.AuthService/ListProjects                Y     Y     Y      Y      .      .      Y    Y      .       .
auth.v1.AuthService/CreateAPIKey                Y     Y     .      .      .      .      .    Y      .       .
auth.v1.AuthService/ListAPIKeys                 Y     Y     Y      .      .      .      .    Y      .       .
auth.v1.AuthService/RevokeAPIKey                Y     Y     .      .      .      .      .    Y      .       .
auth.v1.AuthService/ValidateAPIKey              Y     Y     Y      Y      Y      Y      Y    Y      Y       Y
auth.v1.AuthService/Authenticate                Y     Y     Y      Y      Y      Y      Y    Y      Y       Y
auth.v1.IdentityService/Signup                  Y     Y     Y      Y      Y      Y      Y    Y      Y       Y
auth.v1.IdentityService/Login                   Y     Y     Y      Y      Y      Y      Y    Y      Y       Y
auth.v1.IdentityService/RefreshToken            Y     Y     Y      Y      Y      Y      Y    Y      Y       Y
auth.v1.IdentityService/Logout                  Y     Y     Y      Y      Y      .      .    .      .       .
auth.v1.IdentityService/GetCurrentUser          Y     Y     Y      Y      Y      .      .    .      .       .
auth.v1.OrganizationService/CreateOrganization  Y     Y     Y      Y      Y      .      .    .      .       .
auth.v1.OrganizationService/ListOrganizations   Y     Y     Y      Y      Y      .      .    .      .       .
auth.v1.OrganizationService/AcceptInvitation    Y     Y     Y      Y      Y      .      .    .      .       .
auth.v1.OrganizationService/ListMembers         Y     Y     Y      Y      .      .      .    .      .       .
auth.v1.OrganizationService/ListInvitations     Y     Y     Y      Y      .      .      .    .      .       .
auth.v1.OrganizationService/UpdateMemberRole    Y     Y     .      .      .      .      .    .      .       .
auth.v1.OrganizationService/RemoveMember        Y     Y     .      .      .      .      .    .      .       .
auth.v1.OrganizationService/SetProjectRole      Y     Y     .      .      .      .      .    .      .       .
auth.v1.OrganizationService/CreateInvitation    Y     Y     .      .      .      .      .    .      .       .
auth.v1.OrganizationService/RevokeInvitation    Y     Y     .      .      .      .      .    .      .       .
auth.v1.SettingsService/GetProjectSettings      Y     Y     Y      Y      .      .      Y    Y      .       .
auth.v1.SettingsService/UpdateProjectSettings   Y     Y     .      .      .      .      .    Y      .       .
auth.v1.SettingsService/ListLLMConnections      Y     Y     Y      Y      .      .      Y    Y      .       .
auth.v1.SettingsService/CreateLLMConnection     Y     Y     .      .      .      .      .    Y      .       .
auth.v1.SettingsService/UpdateLLMConnection     Y     Y     .      .      .      .      .    Y      .       .
auth.v1.SettingsService/DeleteLLMConnection     Y     Y     .      .      .      .      .    Y      .       .
auth.v1.SettingsService/ListRetentionPolicies   .     .     .      .      .      .      .    .      Y       .
auth.v1.AuditService/ListAuditEvents            Y     Y     .      .      .      .      .    Y      .       .
auth.v1.AuditService/RecordAuditEvent           .     .     .      .      .      .      .    .      Y       .
auth.v1.PricingService/ListModelPrices          Y     Y     Y      Y      .      .      Y    Y      Y       .
auth.v1.PricingService/CreateModelPrice         Y     Y     .      .      .      .      .    Y      .       .
auth.v1.PricingService/UpdateModelPrice         Y     Y     .      .      .      .      .    Y      .       .
auth.v1.PricingService/DeleteModelPrice         Y     Y     .      .      .      .      .    Y      .       .
`

type matrixRow struct {
	method string
	allow  map[string]bool
}

func parseMatrix(t *testing.T) []matrixRow {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(expected), "\n")
	header := strings.Fields(lines[0])[1:]
	if len(header) != len(callers) {
		t.Fatalf("matrix has %d caller columns, test has %d callers", len(header), len(callers))
	}
	for i, c := range callers {
		if header[i] != c.name {
			t.Fatalf("matrix column %d is %s, caller is %s", i, header[i], c.name)
		}
	}
	var rows []matrixRow
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) != len(header)+1 {
			t.Fatalf("matrix row %q has %d cells, want %d", l, len(f)-1, len(header))
		}
		r := matrixRow{method: "/agenttrace." + f[0], allow: map[string]bool{}}
		for i, cell := range f[1:] {
			switch cell {
			case "Y":
				r.allow[header[i]] = true
			case ".":
			default:
				t.Fatalf("matrix row %q: cell %q is neither Y nor .", l, cell)
			}
		}
		rows = append(rows, r)
	}
	return rows
}

func TestPermissionMatrix(t *testing.T) {
	rows := parseMatrix(t)
	seen := map[string]bool{}
	for _, r := range rows {
		if seen[r.method] {
			t.Errorf("matrix lists %s twice", r.method)
		}
		seen[r.method] = true
		for _, c := range callers {
			err := Check(r.method, c.p)
			want := r.allow[c.name]
			if want && err != nil {
				t.Errorf("%s as %s: %v, want allowed", r.method, c.name, err)
			}
			if !want {
				var de *DeniedError
				if !errors.As(err, &de) || !errors.Is(err, ErrDenied) {
					t.Errorf("%s as %s: %v, want a DeniedError", r.method, c.name, err)
				} else if !strings.Contains(err.Error(), string(de.Permission)) || de.Permission != table[r.method].Permission {
					t.Errorf("%s as %s: %q does not name the permission %s", r.method, c.name, err, table[r.method].Permission)
				}
			}
		}
	}
	// Every agenttrace method of the table is in the matrix, so the matrix
	// covers the whole product surface.
	for m := range Table() {
		if strings.HasPrefix(m, "/agenttrace.") && !seen[m] {
			t.Errorf("%s is in the table but not in the expected matrix", m)
		}
	}
}

func TestProbesAndReflectionArePublic(t *testing.T) {
	for _, m := range []string{
		"/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch", "/grpc.health.v1.Health/List",
		"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
		"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
	} {
		if err := Check(m, Principal{}); err != nil {
			t.Errorf("%s without credentials: %v", m, err)
		}
	}
}

func TestUnknownMethodIsRefused(t *testing.T) {
	owner := Principal{Kind: KindUser, Role: authv1.Role_ROLE_OWNER}
	service := Principal{Kind: KindService, Service: "worker"}
	for _, m := range []string{
		"", "/agenttrace.query.v1.QueryService/DropEverything", "/grpc.health.v1.Health/Other",
		"agenttrace.query.v1.QueryService/GetTrace", // no leading slash
		"/agenttrace.query.v1.QueryService/GetTrace/",
	} {
		for _, p := range []Principal{{}, owner, service} {
			if err := Check(m, p); !errors.Is(err, ErrUnknownMethod) {
				t.Errorf("Check(%q, %v) = %v, want ErrUnknownMethod", m, p.Kind, err)
			}
		}
	}
}

func TestScopesAndRolesEdgeCases(t *testing.T) {
	ingest, read := authv1.APIKeyScope_API_KEY_SCOPE_INGEST, authv1.APIKeyScope_API_KEY_SCOPE_READ
	getTrace := "/agenttrace.query.v1.QueryService/GetTrace"
	ingestBatch := "/agenttrace.ingest.v1.IngestService/IngestBatch"
	tests := []struct {
		name   string
		method string
		p      Principal
		allow  bool
	}{
		{"key with both scopes reads", getTrace, Principal{Scopes: []authv1.APIKeyScope{ingest, read}}, true},
		{"key with both scopes writes", ingestBatch, Principal{Scopes: []authv1.APIKeyScope{ingest, read}}, true},
		{"key without scopes", getTrace, Principal{KeyID: "k"}, false},
		{"unspecified scope grants nothing", getTrace, Principal{Scopes: []authv1.APIKeyScope{authv1.APIKeyScope_API_KEY_SCOPE_UNSPECIFIED}}, false},
		{"unknown scope grants nothing", getTrace, Principal{Scopes: []authv1.APIKeyScope{99}}, false},
		{"unknown role grants nothing", getTrace, Principal{Kind: KindUser, Role: 99}, false},
		{"unknown kind", getTrace, Principal{Kind: 7, Role: authv1.Role_ROLE_OWNER, Scopes: []authv1.APIKeyScope{read}}, false},
		{"service cannot read traces", getTrace, Principal{Kind: KindService, Scopes: []authv1.APIKeyScope{read}}, false},
		{"user role, not scopes", getTrace, Principal{Kind: KindUser, Scopes: []authv1.APIKeyScope{read}}, false},
		{"key scopes, not role", ingestBatch, Principal{Kind: KindAPIKey, Role: authv1.Role_ROLE_OWNER}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.method, tt.p)
			if tt.allow != (err == nil) {
				t.Fatalf("Check = %v, want allowed=%v", err, tt.allow)
			}
			if err != nil && !errors.Is(err, ErrDenied) {
				t.Fatalf("Check = %v, want ErrDenied", err)
			}
		})
	}
}

func TestOrganizationScopedRules(t *testing.T) {
	want := map[string]bool{
		"ListMembers": true, "ListInvitations": true, "UpdateMemberRole": true, "RemoveMember": true,
		"SetProjectRole": true, "CreateInvitation": true, "RevokeInvitation": true, "ListAuditEvents": true,
	}
	for m, r := range Table() {
		name := m[strings.LastIndex(m, "/")+1:]
		if r.OrganizationScoped != want[name] {
			t.Errorf("%s: OrganizationScoped = %v, want %v", m, r.OrganizationScoped, want[name])
		}
	}
}

// TestDefaultOrganizationRules: the project calls fall back to the user's
// only organization, as their requests' organization_id promises.
func TestDefaultOrganizationRules(t *testing.T) {
	want := map[string]bool{"CreateProject": true, "ListProjects": true}
	for m, r := range Table() {
		name := m[strings.LastIndex(m, "/")+1:]
		if r.DefaultOrganization != want[name] {
			t.Errorf("%s: DefaultOrganization = %v, want %v", m, r.DefaultOrganization, want[name])
		}
		if r.DefaultOrganization && r.OrganizationScoped {
			t.Errorf("%s: both DefaultOrganization and OrganizationScoped", m)
		}
	}
}

func TestTableIsACopy(t *testing.T) {
	m := "/agenttrace.query.v1.QueryService/GetTrace"
	Table()[m] = Rule{Permission: Public}
	if err := Check(m, Principal{}); err == nil {
		t.Fatal("changing Table's answer changed the table")
	}
	if r, ok := Lookup(m); !ok || r.Permission != TracesRead {
		t.Fatalf("Lookup = %+v, %v", r, ok)
	}
}

// RolePermissions lists exactly what RoleGrants allows, and its answer is
// the caller's to change.
func TestRolePermissions(t *testing.T) {
	all := []Permission{TracesWrite, TracesRead, TracesDelete, ProjectsRead, ProjectsManage,
		KeysRead, KeysManage, MembersRead, MembersManage, AuditRead, PricesRead}
	for _, role := range []authv1.Role{authv1.Role_ROLE_OWNER, authv1.Role_ROLE_ADMIN, authv1.Role_ROLE_MEMBER, authv1.Role_ROLE_VIEWER, authv1.Role_ROLE_UNSPECIFIED} {
		got := RolePermissions(role)
		for _, p := range all {
			if slices.Contains(got, p) != RoleGrants(role, p) {
				t.Errorf("%v: RolePermissions %v disagrees with RoleGrants on %s", role, got, p)
			}
		}
		if len(got) > 0 {
			got[0] = Public
			if slices.Contains(RolePermissions(role), Public) {
				t.Fatalf("%v: changing RolePermissions' answer changed the table", role)
			}
		}
	}
}

func TestDeniedErrorMessage(t *testing.T) {
	err := Check("/agenttrace.auth.v1.AuthService/CreateAPIKey", Principal{Kind: KindUser, Role: authv1.Role_ROLE_VIEWER})
	want := "permission denied: /agenttrace.auth.v1.AuthService/CreateAPIKey needs KEYS_MANAGE"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
	if fmt.Sprint(KindUser, KindAPIKey, KindService, Kind(9)) != "user api key service unknown" {
		t.Fatalf("kind names: %v", fmt.Sprint(KindUser, KindAPIKey, KindService, Kind(9)))
	}
}

// TestOTLPExportIsIngestion: OTLP export writes traces like IngestBatch, so
// every principal that may call one may call the other.
func TestOTLPExportIsIngestion(t *testing.T) {
	for _, c := range callers {
		want := Check(ingestv1.IngestService_IngestBatch_FullMethodName, c.p) == nil
		if got := Check(OTLPTraceExport, c.p) == nil; got != want {
			t.Errorf("%s: OTLP export allowed=%v, IngestBatch allowed=%v", c.name, got, want)
		}
	}
}
