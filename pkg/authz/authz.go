// Package authz decides whether a caller may call a method: one table maps
// every RPC of every AgentTrace service to the permission it needs, and
// roles (for users) and scopes (for API keys) grant permissions.
//
// Authentication (pkg/authn) resolves who is calling; this package only
// decides, from the table, and does no I/O. Whether the object a call names
// belongs to the caller's project is each handler's business.
package authz

import (
	"errors"
	"fmt"
	"slices"
)

var (
	// ErrDenied: the caller lacks the method's permission. Check returns it
	// as a *DeniedError naming the permission.
	ErrDenied = errors.New("permission denied")
	// ErrUnknownMethod: the method is not in the table, so nobody may call
	// it.
	ErrUnknownMethod = errors.New("method not in the permission table")
)

// DeniedError says which permission a caller lacked.
type DeniedError struct {
	Method     string
	Permission Permission
	Kind       Kind
}

func (e *DeniedError) Error() string {
	return fmt.Sprintf("permission denied: %s needs %s", e.Method, e.Permission)
}

// Is makes every DeniedError an ErrDenied.
func (e *DeniedError) Is(target error) bool { return target == ErrDenied }

// Check decides whether p may call fullMethod. Public methods are allowed
// for anyone, p being ignored. Otherwise: services may call Internal methods
// and read prices; users may call Authenticated methods and what their role grants;
// API keys what their scopes grant.
func Check(fullMethod string, p Principal) error {
	r, ok := table[fullMethod]
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownMethod, fullMethod)
	}
	if Allows(p, r.Permission) {
		return nil
	}
	return &DeniedError{Method: fullMethod, Permission: r.Permission, Kind: p.Kind}
}

// Allows reports whether p holds permission perm.
func Allows(p Principal, perm Permission) bool {
	if perm == Public {
		return true
	}
	switch p.Kind {
	case KindService:
		return slices.Contains(servicePermissions, perm)
	case KindUser:
		return perm == Authenticated || RoleGrants(p.Role, perm)
	case KindAPIKey:
		return ScopesGrant(p.Scopes, perm)
	}
	return false
}
