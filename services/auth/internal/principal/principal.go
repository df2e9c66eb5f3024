// Package principal resolves any caller of any AgentTrace service to an
// authn.Principal: an API key (with its scopes), a user access token (with
// the user's role in the project or organization the call names) or a
// service token. It answers AuthService.Authenticate for the other services
// and serves as the auth service's own in-process authn.Authenticator, so
// that every call of every service goes through the same resolution.
package principal

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/agenttrace/agenttrace/pkg/authn"
	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/pkg/jwtkeys"
	"github.com/agenttrace/agenttrace/services/auth/internal/apikey"
	"github.com/agenttrace/agenttrace/services/auth/internal/identity"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

// Keys validates API key credentials (tenancy.Service): it returns
// authn.ErrInvalidCredentials for keys that are not valid.
type Keys interface {
	Validate(ctx context.Context, c authn.Credentials) (authn.Principal, error)
}

// Tokens verifies JWTs (*jwtkeys.Ring).
type Tokens interface {
	VerifyUserToken(token string) (jwtkeys.UserClaims, error)
	VerifyServiceToken(token string) (string, error)
}

// Roles looks up users' roles (*pgstore.Store). Both return an error
// wrapping tenancy.ErrNotFound when the user has no role there, or the
// project or organization does not exist.
type Roles interface {
	// EffectiveProjectRole returns the project's organization and the
	// user's role in the project: its override, else the organization role.
	EffectiveProjectRole(ctx context.Context, userID, projectID uuid.UUID) (uuid.UUID, authv1.Role, error)
	// GetMembership returns the user's membership of the organization.
	GetMembership(ctx context.Context, orgID, userID uuid.UUID) (identity.Membership, error)
	// ListUserMemberships returns every membership of the user.
	ListUserMemberships(ctx context.Context, userID uuid.UUID) ([]identity.Membership, error)
}

// Config holds the Resolver's dependencies.
type Config struct {
	Keys   Keys
	Tokens Tokens
	Roles  Roles
}

// Resolver implements authn.Authenticator.
type Resolver struct {
	keys   Keys
	tokens Tokens
	roles  Roles
}

var _ authn.Authenticator = (*Resolver)(nil)

// New builds a Resolver.
func New(cfg Config) *Resolver {
	return &Resolver{keys: cfg.Keys, tokens: cfg.Tokens, roles: cfg.Roles}
}

// Authenticate implements authn.Authenticator. A Basic pair or a Bearer
// token with the API key secret prefix is a key; any other Bearer token is
// a user token or else a service token. The project or organization named
// matters only for users.
func (r *Resolver) Authenticate(ctx context.Context, req authn.Request) (authn.Principal, error) {
	creds, err := authn.ParseAuthorization(req.Authorization)
	if err != nil {
		return authn.Principal{}, err
	}
	if creds.PublicKey != "" || strings.HasPrefix(creds.SecretKey, apikey.SecretPrefix) {
		return r.keys.Validate(ctx, creds)
	}
	if claims, err := r.tokens.VerifyUserToken(creds.SecretKey); err == nil {
		return r.user(ctx, claims, req)
	}
	if name, err := r.tokens.VerifyServiceToken(creds.SecretKey); err == nil {
		return authn.Principal{Kind: authn.KindService, Service: name}, nil
	}
	// Why the token failed (expired, wrong key, ...) is not for the caller.
	return authn.Principal{}, authn.ErrInvalidCredentials
}

// user resolves a verified user token and the target the call names.
func (r *Resolver) user(ctx context.Context, claims jwtkeys.UserClaims, req authn.Request) (authn.Principal, error) {
	userID, err := uuid.Parse(claims.Subject)
	if err != nil {
		// Signed by us, yet not a user id: not a token we issue.
		return authn.Principal{}, authn.ErrInvalidCredentials
	}
	p := authn.Principal{Kind: authn.KindUser, UserID: userID.String(), Email: claims.Email}
	switch {
	case req.ProjectID != "":
		projectID, err := uuid.Parse(req.ProjectID)
		if err != nil {
			return authn.Principal{}, authn.ErrNoAccess
		}
		orgID, role, err := r.roles.EffectiveProjectRole(ctx, userID, projectID)
		if err != nil {
			return authn.Principal{}, noAccess(err)
		}
		if req.OrganizationRole {
			m, err := r.roles.GetMembership(ctx, orgID, userID)
			if err != nil {
				return authn.Principal{}, noAccess(err)
			}
			role = m.Role
		}
		p.ProjectID, p.OrganizationID, p.Role = projectID.String(), orgID.String(), role
	case req.OrganizationID != "":
		orgID, err := uuid.Parse(req.OrganizationID)
		if err != nil {
			return authn.Principal{}, authn.ErrNoAccess
		}
		m, err := r.roles.GetMembership(ctx, orgID, userID)
		if err != nil {
			return authn.Principal{}, noAccess(err)
		}
		p.OrganizationID, p.Role = orgID.String(), m.Role
	case req.DefaultOrganization:
		m, err := r.onlyMembership(ctx, userID)
		if err != nil {
			return authn.Principal{}, err
		}
		p.OrganizationID, p.Role = m.OrganizationID.String(), m.Role
	}
	return p, nil
}

// onlyMembership is the user's membership when they belong to exactly one
// organization. With several, acting on any of them would be a guess.
func (r *Resolver) onlyMembership(ctx context.Context, userID uuid.UUID) (identity.Membership, error) {
	ms, err := r.roles.ListUserMemberships(ctx, userID)
	if err != nil {
		return identity.Membership{}, fmt.Errorf("list memberships: %w", err)
	}
	switch len(ms) {
	case 1:
		return ms[0], nil
	case 0:
		return identity.Membership{}, &authn.TargetError{Field: "organization_id",
			Reason: "required: this user belongs to no organization (create one, or accept an invitation)"}
	}
	return identity.Membership{}, &authn.TargetError{Field: "organization_id",
		Reason: fmt.Sprintf("required: this user belongs to %d organizations; name one (ListOrganizations, GET /api/v1/organizations, lists them)", len(ms))}
}

// noAccess turns "no such membership or project" into authn.ErrNoAccess
// (the two are not told apart, so that ids of other tenants cannot be
// probed); other errors mean the answer is unknown.
func noAccess(err error) error {
	if errors.Is(err, tenancy.ErrNotFound) {
		return authn.ErrNoAccess
	}
	return fmt.Errorf("look up role: %w", err)
}
