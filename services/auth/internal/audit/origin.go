package audit

import (
	"context"

	"github.com/google/uuid"

	"github.com/agenttrace/agenttrace/pkg/authn"
)

// Caller is the actor of a call and the organization it acts in.
type Caller struct {
	Actor          Actor
	OrganizationID uuid.UUID
}

// ActorFromContext names the authenticated caller of ctx; without one the
// actor is ActorSystem (an operator command such as bootstrap).
func ActorFromContext(ctx context.Context) Caller {
	p, ok := authn.FromContext(ctx)
	if !ok {
		return Caller{Actor: Actor{Kind: ActorSystem}}
	}
	// A malformed organization id leaves it Nil: the caller's own records
	// then belong to no organization rather than failing the action.
	org, _ := uuid.Parse(p.OrganizationID)
	switch p.Kind {
	case authn.KindUser:
		return Caller{Actor: Actor{Kind: ActorUser, ID: p.UserID, Label: p.Email}, OrganizationID: org}
	case authn.KindService:
		return Caller{Actor: Actor{Kind: ActorService, ID: p.Service, Label: p.Service}, OrganizationID: org}
	default:
		return Caller{Actor: Actor{Kind: ActorAPIKey, ID: p.KeyID, Label: p.PublicKey}, OrganizationID: org}
	}
}

// Origin is where a call came from.
type Origin struct {
	ClientIP  string
	UserAgent string
}

// OriginFromContext reads the client address and user agent of a gRPC call
// (authn.ClientIP, authn.UserAgent), the agent cut to what the audit log keeps.
func OriginFromContext(ctx context.Context) Origin {
	o := Origin{ClientIP: authn.ClientIP(ctx)}
	if ua := authn.UserAgent(ctx); ua != "" {
		o.UserAgent = truncate(ua, maxUserAgentLen)
	}
	return o
}
