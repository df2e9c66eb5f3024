package authz

import (
	"slices"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
)

// Permission is what a method needs of its caller.
type Permission string

// Permissions. Public, Authenticated and Internal are about who the caller
// is; the others are granted by roles and key scopes.
const (
	// Public methods need no credentials and get no principal.
	Public Permission = "PUBLIC"
	// Authenticated methods need a signed-in user, in any role or none.
	Authenticated Permission = "AUTHENTICATED"
	// Internal methods are for other AgentTrace services only.
	Internal Permission = "INTERNAL"

	TracesWrite    Permission = "TRACES_WRITE"
	TracesRead     Permission = "TRACES_READ"
	TracesDelete   Permission = "TRACES_DELETE"
	ProjectsRead   Permission = "PROJECTS_READ"
	ProjectsManage Permission = "PROJECTS_MANAGE"
	KeysRead       Permission = "KEYS_READ"
	KeysManage     Permission = "KEYS_MANAGE"
	MembersRead    Permission = "MEMBERS_READ"
	MembersManage  Permission = "MEMBERS_MANAGE"
	AuditRead      Permission = "AUDIT_READ"
	// PricesRead reads the model price table; services hold it too, since
	// the worker computes costs from it.
	PricesRead Permission = "PRICES_READ"
)

// servicePermissions is what other AgentTrace services may do.
var servicePermissions = []Permission{Internal, PricesRead}

// rolePermissions is what each organization role (or project override)
// grants. OWNER and ADMIN grant the same permissions: what only an owner may
// do (touch other owners) is a rule of the organization service, which
// knows whose membership a call changes.
var rolePermissions = map[authv1.Role][]Permission{
	authv1.Role_ROLE_OWNER: {TracesWrite, TracesRead, TracesDelete, ProjectsRead, ProjectsManage,
		KeysRead, KeysManage, MembersRead, MembersManage, AuditRead, PricesRead},
	authv1.Role_ROLE_ADMIN: {TracesWrite, TracesRead, TracesDelete, ProjectsRead, ProjectsManage,
		KeysRead, KeysManage, MembersRead, MembersManage, AuditRead, PricesRead},
	authv1.Role_ROLE_MEMBER: {TracesWrite, TracesRead, ProjectsRead, KeysRead, MembersRead, PricesRead},
	authv1.Role_ROLE_VIEWER: {TracesRead, ProjectsRead, MembersRead, PricesRead},
}

// scopePermissions is what each API key scope grants. No scope grants
// anything about members or organizations: those are for people.
var scopePermissions = map[authv1.APIKeyScope][]Permission{
	authv1.APIKeyScope_API_KEY_SCOPE_INGEST: {TracesWrite},
	authv1.APIKeyScope_API_KEY_SCOPE_READ:   {TracesRead, ProjectsRead, PricesRead},
	authv1.APIKeyScope_API_KEY_SCOPE_ADMIN: {TracesDelete, ProjectsManage, ProjectsRead,
		KeysRead, KeysManage, AuditRead, PricesRead},
}

// RolePermissions is what role grants (nil for no role), for telling a
// client what it may do; decisions use RoleGrants.
func RolePermissions(role authv1.Role) []Permission {
	return slices.Clone(rolePermissions[role])
}

// RoleGrants reports whether role grants p.
func RoleGrants(role authv1.Role, p Permission) bool {
	return slices.Contains(rolePermissions[role], p)
}

// RoleGrantable reports whether some role grants p: a user without a role
// (who named no project or organization) might hold it where they name one.
func RoleGrantable(p Permission) bool {
	for _, perms := range rolePermissions {
		if slices.Contains(perms, p) {
			return true
		}
	}
	return false
}

// ScopesGrant reports whether any of scopes grants p.
func ScopesGrant(scopes []authv1.APIKeyScope, p Permission) bool {
	for _, s := range scopes {
		if slices.Contains(scopePermissions[s], p) {
			return true
		}
	}
	return false
}
