package jwtkeys

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/agenttrace/agenttrace/pkg/config"
)

const (
	secretA = "0123456789abcdef0123456789abcdef-a"
	secretB = "0123456789abcdef0123456789abcdef-b"
)

func ring(t *testing.T, cur, prev string) *Ring {
	t.Helper()
	r, err := NewRing(Config{Secret: config.Secret(cur), PreviousSecret: config.Secret(prev)})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestNewRingRejectsShortSecrets(t *testing.T) {
	for _, cfg := range []Config{{}, {Secret: "short"}, {Secret: secretA, PreviousSecret: "short"}} {
		if _, err := NewRing(cfg); err == nil {
			t.Errorf("NewRing(%+v) accepted", cfg)
		}
	}
}

func TestServiceTokenRoundTripAndRotation(t *testing.T) {
	old := ring(t, secretA, "")
	tok, err := old.MintServiceToken("worker", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if name, err := old.VerifyServiceToken(tok); err != nil || name != "worker" {
		t.Fatalf("verify = %q, %v", name, err)
	}
	rotated := ring(t, secretB, secretA)
	if name, err := rotated.VerifyServiceToken(tok); err != nil || name != "worker" {
		t.Fatalf("old token after rotation = %q, %v", name, err)
	}
	done := ring(t, secretB, "")
	if _, err := done.VerifyServiceToken(tok); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("token of a retired secret accepted: %v", err)
	}
}

func TestTokenAttacks(t *testing.T) {
	r := ring(t, secretA, "")
	now := time.Now()
	good, _ := r.MintServiceToken("ingest", now)
	parts := strings.Split(good, ".")

	noneHeader := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT","kid":"` + r.current.id + `"}`))
	tamperedClaims := base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"agenttrace","sub":"service:auth","aud":["agenttrace-internal"],"exp":9999999999,"iat":1}`))
	expired, _ := r.MintServiceToken("ingest", now.Add(-time.Hour))
	otherKey, _ := ring(t, secretB, "").MintServiceToken("ingest", now)
	userAud, _ := r.Sign(jwt.RegisteredClaims{Issuer: Issuer, Subject: "service:ingest", Audience: jwt.ClaimStrings{"agenttrace-api"},
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Minute))})
	noExp, _ := r.Sign(jwt.RegisteredClaims{Issuer: Issuer, Subject: "service:ingest", Audience: jwt.ClaimStrings{ServiceAudience}})
	notService, _ := r.Sign(jwt.RegisteredClaims{Issuer: Issuer, Subject: "user:1", Audience: jwt.ClaimStrings{ServiceAudience},
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Minute))})
	hs512 := jwt.NewWithClaims(jwt.SigningMethodHS512, jwt.RegisteredClaims{Issuer: Issuer, Subject: "service:ingest",
		Audience: jwt.ClaimStrings{ServiceAudience}, ExpiresAt: jwt.NewNumericDate(now.Add(time.Minute))})
	hs512.Header["kid"] = r.current.id
	hs512Tok, _ := hs512.SignedString([]byte(secretA))

	attacks := map[string]string{
		"alg none":         noneHeader + "." + parts[1] + ".",
		"tampered claims":  parts[0] + "." + tamperedClaims + "." + parts[2],
		"expired":          expired,
		"wrong key":        otherKey,
		"user audience":    userAud,
		"no expiry":        noExp,
		"not a service":    notService,
		"other hmac alg":   hs512Tok,
		"garbage":          "not.a.jwt",
		"empty":            "",
		"signature cut":    parts[0] + "." + parts[1] + ".",
		"unknown kid only": strings.Replace(good, parts[0], base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT","kid":"ffffffffffff"}`)), 1),
	}
	for name, tok := range attacks {
		t.Run(name, func(t *testing.T) {
			if svc, err := r.VerifyServiceToken(tok); !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("accepted as %q (err %v)", svc, err)
			}
		})
	}
}

func TestServiceCredentialsRefresh(t *testing.T) {
	r := ring(t, secretA, "")
	c := NewServiceCredentials(r, "worker")
	now := time.Now().Add(-ServiceTTL) // so the refreshed token is minted at the real now
	c.now = func() time.Time { return now }
	md1, err := c.GetRequestMetadata(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	md2, _ := c.GetRequestMetadata(context.Background())
	if md1["authorization"] != md2["authorization"] {
		t.Error("token minted again while still fresh")
	}
	now = now.Add(ServiceTTL)
	md3, _ := c.GetRequestMetadata(context.Background())
	if md3["authorization"] == md1["authorization"] {
		t.Error("token not minted again near expiry")
	}
	tok := strings.TrimPrefix(md3["authorization"], "Bearer ")
	if _, err := r.VerifyServiceToken(tok); err != nil {
		t.Errorf("minted token does not verify: %v", err)
	}
}

func FuzzVerifyServiceToken(f *testing.F) {
	r, _ := NewRing(Config{Secret: secretA})
	good, _ := r.MintServiceToken("query", time.Now())
	for _, s := range []string{good, "", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", strings.Repeat(".", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		name, err := r.VerifyServiceToken(tok)
		if err == nil && tok != good {
			t.Fatalf("fuzzed token verified as %q", name)
		}
	})
}

func TestUserTokens(t *testing.T) {
	r := ring(t, secretA, "")
	now := time.Now()
	tok, err := r.MintUserToken("u1", "a@example.com", "jti-1", now, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.VerifyUserToken(tok)
	if err != nil || c.Subject != "u1" || c.Email != "a@example.com" || c.ID != "jti-1" {
		t.Fatalf("verify = %+v, %v", c, err)
	}
	// A user token is not a service token and vice versa.
	if _, err := r.VerifyServiceToken(tok); !errors.Is(err, ErrInvalidToken) {
		t.Error("user token accepted as a service token")
	}
	svc, _ := r.MintServiceToken("worker", now)
	if _, err := r.VerifyUserToken(svc); !errors.Is(err, ErrInvalidToken) {
		t.Error("service token accepted as a user token")
	}
	expired, _ := r.MintUserToken("u1", "", "jti-2", now.Add(-time.Hour), time.Minute)
	if _, err := r.VerifyUserToken(expired); !errors.Is(err, ErrInvalidToken) {
		t.Error("expired user token accepted")
	}
}
