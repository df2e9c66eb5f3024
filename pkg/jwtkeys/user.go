package jwtkeys

import (
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// UserAudience is the aud of user access tokens.
const UserAudience = "agenttrace-api"

// UserClaims are the claims of a user access token. The token says who the
// user is, never what they may do: roles are looked up on every
// authentication (and cached briefly), so a role change or removal takes
// effect without waiting for tokens to expire.
type UserClaims struct {
	Email string `json:"email,omitempty"`
	jwt.RegisteredClaims
}

// MintUserToken issues an access token for userID valid for ttl; id is its
// jti (unique per token).
func (r *Ring) MintUserToken(userID, email, id string, now time.Time, ttl time.Duration) (string, error) {
	return r.Sign(UserClaims{
		Email: email,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    Issuer,
			Subject:   userID,
			Audience:  jwt.ClaimStrings{UserAudience},
			ID:        id,
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now.Add(-5 * time.Second)),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
	})
}

// VerifyUserToken checks an access token and returns its claims.
func (r *Ring) VerifyUserToken(token string) (UserClaims, error) {
	var c UserClaims
	if err := r.Parse(token, &c, UserAudience); err != nil {
		return UserClaims{}, err
	}
	if c.Subject == "" {
		return UserClaims{}, fmt.Errorf("%w: no subject", ErrInvalidToken)
	}
	return c, nil
}
