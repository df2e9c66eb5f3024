// Package authn authenticates every gRPC call of every AgentTrace service and
// authorizes it with pkg/authz.
//
// Callers present credentials in the "authorization" metadata: a project API
// key ("Basic base64(public:secret)" or "Bearer sk-at-..."), a user access
// token ("Bearer <jwt>") or a service token ("Bearer <jwt>"). Users name the
// project they act on in the "x-agenttrace-project" metadata. The
// interceptor resolves credentials and project to a Principal through an
// Authenticator (the auth service, behind a short-lived cache that
// invalidation notices evict at once), checks the method's permission, and
// puts the Principal in the context.
package authn

import (
	"context"
	"errors"

	"github.com/agenttrace/agenttrace/pkg/apierror"
	"github.com/agenttrace/agenttrace/pkg/authz"
)

// Principal is who is calling; see authz.Principal. It is defined in authz,
// which decides on it, so that authn can use authz without a cycle.
type Principal = authz.Principal

// Kind is what kind of caller a principal is.
type Kind = authz.Kind

// Kinds of principals.
const (
	KindAPIKey  = authz.KindAPIKey
	KindUser    = authz.KindUser
	KindService = authz.KindService
)

// ProjectHeader is the metadata key (and, through the gateway, the HTTP
// header X-AgentTrace-Project) by which a user names the project a call acts
// on. API keys belong to one project and need not send it.
const ProjectHeader = "x-agenttrace-project"

// Request is what a caller presented, to be resolved to a Principal.
type Request struct {
	// Authorization is the header value as sent.
	Authorization string
	// ProjectID is the project the caller names; for users, their role is
	// looked up there. Ignored for API keys and services.
	ProjectID string
	// OrganizationID is the organization the caller names when it names no
	// project; for users, their organization role is looked up there.
	OrganizationID string
	// OrganizationRole asks for a user's organization role even though a
	// project is named (the project's organization): organization-scoped
	// methods never honour project overrides.
	OrganizationRole bool
	// DefaultOrganization: the call names neither a project nor an
	// organization, and its method acts on the caller's only organization
	// then (authz.Rule.DefaultOrganization). For users, the authenticator
	// resolves it, or refuses with a *TargetError when there is no single
	// one.
	DefaultOrganization bool
}

// Authenticator resolves a request to a principal. It returns
// ErrNoCredentials or ErrInvalidCredentials when the credentials do not
// identify anyone, ErrNoAccess when they do but the caller has no access to
// the project or organization named, and any other error when it cannot
// tell (auth unreachable, ...).
type Authenticator interface {
	Authenticate(ctx context.Context, r Request) (Principal, error)
}

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc func(ctx context.Context, r Request) (Principal, error)

// Authenticate implements Authenticator.
func (f AuthenticatorFunc) Authenticate(ctx context.Context, r Request) (Principal, error) {
	return f(ctx, r)
}

var (
	// ErrNoCredentials: the call carried no usable authorization.
	ErrNoCredentials = errors.New("missing or malformed authorization")
	// ErrInvalidCredentials: the key or token is unknown, wrong, expired or
	// revoked.
	ErrInvalidCredentials = errors.New("invalid, expired or revoked credentials")
	// ErrNoAccess: the credentials are valid, but the caller is not a member
	// of the named project's organization, or the project does not exist.
	// The two are deliberately not told apart.
	ErrNoAccess = errors.New("no access to the named project or organization")
)

// ErrTargetRequired: the call acts on a project or organization that the
// request does not name and that cannot be assumed. It is the caller's to
// fix (InvalidArgument), unlike ErrNoAccess; a *TargetError says how.
var ErrTargetRequired = errors.New("the call needs a project or organization")

// TargetError names the request field or header that must name the call's
// project or organization, and why.
type TargetError struct {
	Field  string
	Reason string
}

func (e *TargetError) Error() string { return e.Field + ": " + e.Reason }

// Is makes every TargetError an ErrTargetRequired.
func (e *TargetError) Is(target error) bool { return target == ErrTargetRequired }

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the authenticated caller. Public methods have none.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// ProjectCaller returns the authenticated caller of a project-scoped call.
// The interceptor guarantees one before every such handler, so its absence
// is apierror.ErrNoPrincipal, a wiring bug that apierror.Status maps.
func ProjectCaller(ctx context.Context) (Principal, error) {
	p, ok := FromContext(ctx)
	if !ok || p.ProjectID == "" {
		return Principal{}, apierror.ErrNoPrincipal
	}
	return p, nil
}
