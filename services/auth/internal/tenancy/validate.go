package tenancy

import (
	"context"
	"crypto/subtle"
	"errors"
	"slices"

	"github.com/agenttrace/agenttrace/pkg/authn"
	"github.com/agenttrace/agenttrace/services/auth/internal/apikey"
)

// Validate resolves a presented key pair (or a Bearer secret) to the key's
// principal. It returns authn.ErrInvalidCredentials for a malformed, unknown
// or revoked secret, and for a Basic pair whose public key is not the
// secret's; any other error means the answer is unknown.
func (s *Service) Validate(ctx context.Context, c authn.Credentials) (authn.Principal, error) {
	if !apikey.WellFormedSecret(c.SecretKey) {
		return authn.Principal{}, authn.ErrInvalidCredentials
	}
	k, err := s.store.APIKeyBySecretHash(ctx, apikey.HashSecret(c.SecretKey))
	switch {
	case errors.Is(err, ErrNotFound):
		return authn.Principal{}, authn.ErrInvalidCredentials
	case err != nil:
		return authn.Principal{}, err
	}
	// The lookup was by the secret's digest, so the secret is right; the
	// public half of a Basic pair must name the same key. Compared in
	// constant time so that the response time says nothing about how much
	// of a guessed public key matched.
	if c.PublicKey != "" && subtle.ConstantTimeCompare([]byte(c.PublicKey), []byte(k.PublicKey)) != 1 {
		return authn.Principal{}, authn.ErrInvalidCredentials
	}
	if k.Revoked() {
		return authn.Principal{}, authn.ErrInvalidCredentials
	}
	if s.usage != nil {
		s.usage.Record(k.ID)
	}
	return authn.Principal{
		Kind:           authn.KindAPIKey,
		KeyID:          k.ID.String(),
		PublicKey:      k.PublicKey,
		Scopes:         slices.Clone(k.Scopes),
		ProjectID:      k.ProjectID.String(),
		OrganizationID: k.OrganizationID.String(),
	}, nil
}
