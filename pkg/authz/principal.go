package authz

import authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"

// Principal is who is calling: an API key, a user or another service, with
// the organization and project the call acts on. It is defined here, where
// the decisions are made, and re-exported as authn.Principal, which resolves
// it; authn depends on authz and not the other way round.
type Principal struct {
	Kind Kind
	// API keys.
	KeyID     string
	PublicKey string
	Scopes    []authv1.APIKeyScope
	// Users: their effective role in ProjectID (project override, else the
	// organization role), or their organization role when the call names an
	// organization and no project.
	UserID string
	Email  string
	Role   authv1.Role
	// Services: the calling service's name.
	Service string

	OrganizationID string
	ProjectID      string
}

// Kind is what kind of caller a principal is.
type Kind int

// Kinds of principals. The zero value is an API key, which is what every
// principal was before users and services could call.
const (
	KindAPIKey Kind = iota
	KindUser
	KindService
)

// String names the kind in messages and logs.
func (k Kind) String() string {
	switch k {
	case KindAPIKey:
		return "api key"
	case KindUser:
		return "user"
	case KindService:
		return "service"
	}
	return "unknown"
}
