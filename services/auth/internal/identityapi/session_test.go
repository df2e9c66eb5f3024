package identityapi_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/agenttrace/agenttrace/pkg/config"
	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/pkg/ratelimit"
	"github.com/agenttrace/agenttrace/services/auth/internal/identity"
	"github.com/agenttrace/agenttrace/services/auth/internal/password"
)

// newUser stores a user with password pw (hashed with params) directly.
func (e *env) newUser(t *testing.T, pw string, opts ...password.Option) identity.User {
	t.Helper()
	h, err := password.New(append([]password.Option{password.WithTestParams()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	hash, err := h.Hash(context.Background(), e.secret(pw))
	if err != nil {
		t.Fatal(err)
	}
	u, err := e.store.CreateUser(context.Background(), identity.User{ID: uuidOf(t, ""), Email: uniqueEmail(), PasswordHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (e *env) login(t *testing.T, email, pw string) *authv1.Tokens {
	t.Helper()
	resp, err := e.client.Login(context.Background(), &authv1.LoginRequest{Email: email, Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	return e.tokens(resp.GetTokens())
}

func (e *env) refresh(refreshToken string) (*authv1.Tokens, error) {
	resp, err := e.client.RefreshToken(context.Background(), &authv1.RefreshTokenRequest{RefreshToken: refreshToken})
	return e.tokens(resp.GetTokens()), err
}

func TestLogin(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	u := e.newUser(t, goodPassword)

	resp, err := e.client.Login(ctx, &authv1.LoginRequest{Email: strings.ToUpper(u.Email), Password: goodPassword})
	if err != nil {
		t.Fatal(err)
	}
	tok := e.tokens(resp.GetTokens())
	if resp.GetUser().GetId() != u.ID.String() || !strings.HasPrefix(tok.GetRefreshToken(), "rt-at-") ||
		len(tok.GetRefreshToken()) != len("rt-at-")+43 || !tok.GetAccessTokenExpiresAt().AsTime().After(time.Now()) ||
		!tok.GetRefreshTokenExpiresAt().AsTime().After(tok.GetAccessTokenExpiresAt().AsTime()) {
		t.Fatalf("login response %v", resp)
	}
	claims, err := e.keys.VerifyUserToken(tok.GetAccessToken())
	if err != nil || claims.Subject != u.ID.String() || claims.Email != u.Email || claims.ID == "" {
		t.Fatalf("access token claims %+v, %v", claims, err)
	}

	for name, req := range map[string]*authv1.LoginRequest{
		"wrong password": {Email: u.Email, Password: goodPassword + "!"},
		"unknown user":   {Email: uniqueEmail(), Password: goodPassword},
		"empty":          {},
		"huge password":  {Email: u.Email, Password: strings.Repeat("x", 100_000)},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := e.client.Login(ctx, req)
			// One answer for every failure: nothing tells whether the account exists.
			if status.Code(err) != codes.Unauthenticated || status.Convert(err).Message() != "invalid email or password" {
				t.Fatalf("got %v", err)
			}
		})
	}
}

func TestLoginUpgradesHash(t *testing.T) {
	e := newEnv(t, envOptions{})
	old := password.Params{Memory: 128, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	u := e.newUser(t, goodPassword, password.WithParams(old))
	e.login(t, u.Email, goodPassword)
	got, err := e.store.GetUser(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.PasswordHash == u.PasswordHash || !strings.Contains(got.PasswordHash, "$m=64,t=1,p=1$") {
		t.Fatalf("hash not upgraded: %q", got.PasswordHash)
	}
	e.login(t, u.Email, goodPassword) // the new hash verifies
}

func TestRefreshRotationAndReuse(t *testing.T) {
	e := newEnv(t, envOptions{})
	u := e.newUser(t, goodPassword)
	first := e.login(t, u.Email, goodPassword)
	other := e.login(t, u.Email, goodPassword) // a second login: another family

	second, err := e.refresh(first.GetRefreshToken())
	if err != nil {
		t.Fatal(err)
	}
	if second.GetRefreshToken() == first.GetRefreshToken() || second.GetAccessToken() == first.GetAccessToken() {
		t.Fatal("refresh returned the same tokens")
	}
	if c, err := e.keys.VerifyUserToken(second.GetAccessToken()); err != nil || c.Subject != u.ID.String() {
		t.Fatalf("refreshed access token: %+v, %v", c, err)
	}
	third, err := e.refresh(second.GetRefreshToken())
	if err != nil {
		t.Fatal(err)
	}
	// Replaying the first token revokes the family: it, and the newest
	// token, fail; the other login goes on.
	_, err = e.refresh(first.GetRefreshToken())
	wantCode(t, err, codes.Unauthenticated, "invalid or expired refresh token")
	_, err = e.refresh(third.GetRefreshToken())
	wantCode(t, err, codes.Unauthenticated, "invalid or expired refresh token")
	if _, err := e.refresh(other.GetRefreshToken()); err != nil {
		t.Fatalf("the other login was revoked too: %v", err)
	}
	if !strings.Contains(e.logs.String(), "rotated refresh token presented again") {
		t.Fatal("reuse was not logged")
	}
	for _, bad := range []string{"", "garbage", "rt-at-" + strings.Repeat("A", 43), first.GetAccessToken()} {
		_, err := e.refresh(bad)
		wantCode(t, err, codes.Unauthenticated, "invalid or expired refresh token")
	}
}

func TestRefreshTokenExpires(t *testing.T) {
	e := newEnv(t, envOptions{refreshTTL: time.Hour})
	u := e.newUser(t, goodPassword)
	tok := e.login(t, u.Email, goodPassword)
	e.clock.advance(time.Hour + time.Second)
	_, err := e.refresh(tok.GetRefreshToken())
	wantCode(t, err, codes.Unauthenticated, "invalid or expired refresh token")
}

func TestLogout(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	u := e.newUser(t, goodPassword)
	first := e.login(t, u.Email, goodPassword)
	second, err := e.refresh(first.GetRefreshToken())
	if err != nil {
		t.Fatal(err)
	}
	// Logging out with an older token of the family ends the whole login;
	// again, or with garbage, is fine.
	for _, tok := range []string{first.GetRefreshToken(), first.GetRefreshToken(), "garbage", ""} {
		if _, err := e.client.Logout(ctx, &authv1.LogoutRequest{RefreshToken: tok}); err != nil {
			t.Fatalf("logout: %v", err)
		}
	}
	_, err = e.refresh(second.GetRefreshToken())
	wantCode(t, err, codes.Unauthenticated, "invalid or expired refresh token")
}

func TestGetCurrentUserNeedsAUser(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	_, err := e.client.GetCurrentUser(ctx, &authv1.GetCurrentUserRequest{})
	wantCode(t, err, codes.Unauthenticated, "not authenticated")
	keyCtx := metadata.AppendToOutgoingContext(ctx, "x-test-api-key", "k1")
	_, err = e.client.GetCurrentUser(keyCtx, &authv1.GetCurrentUserRequest{})
	wantCode(t, err, codes.PermissionDenied, "user's access token")

	// A valid token of a user that no longer exists.
	gone := e.newUser(t, goodPassword)
	tok := e.login(t, gone.Email, goodPassword)
	if _, err := e.pool.Exec(ctx, `DELETE FROM users WHERE id = $1`, gone.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.GetCurrentUser(bearer(ctx, tok.GetAccessToken()), &authv1.GetCurrentUserRequest{})
	wantCode(t, err, codes.Unauthenticated, "no longer exists")
	_, err = e.refresh(tok.GetRefreshToken())
	wantCode(t, err, codes.Unauthenticated, "invalid or expired refresh token")
}

// A call that names a project learns the user's role there and what it
// grants; one that names none learns neither.
func TestGetCurrentUserPermissionsInAProject(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	u := e.newUser(t, goodPassword)
	tok := e.login(t, u.Email, goodPassword)
	user := bearer(ctx, tok.GetAccessToken())

	me, err := e.client.GetCurrentUser(user, &authv1.GetCurrentUserRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if me.GetProjectId() != "" || me.GetProjectRole() != authv1.Role_ROLE_UNSPECIFIED || len(me.GetPermissions()) != 0 {
		t.Fatalf("no project named: %v", me)
	}
	project := uuid.NewString()
	for _, tc := range []struct {
		role      authv1.Role
		has, lack []string
	}{
		{authv1.Role_ROLE_ADMIN, []string{"TRACES_READ", "KEYS_MANAGE", "MEMBERS_MANAGE", "AUDIT_READ", "PROJECTS_MANAGE"}, nil},
		{authv1.Role_ROLE_MEMBER, []string{"TRACES_WRITE", "KEYS_READ", "MEMBERS_READ"}, []string{"KEYS_MANAGE", "AUDIT_READ", "PROJECTS_MANAGE"}},
		{authv1.Role_ROLE_VIEWER, []string{"TRACES_READ", "PRICES_READ"}, []string{"TRACES_WRITE", "KEYS_READ", "MEMBERS_MANAGE"}},
	} {
		t.Run(tc.role.String(), func(t *testing.T) {
			ctx := metadata.AppendToOutgoingContext(user, "x-test-project-role", project+"="+tc.role.String())
			me, err := e.client.GetCurrentUser(ctx, &authv1.GetCurrentUserRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if me.GetProjectId() != project || me.GetProjectRole() != tc.role {
				t.Fatalf("project %q role %v, want %s %v", me.GetProjectId(), me.GetProjectRole(), project, tc.role)
			}
			for _, p := range tc.has {
				if !slices.Contains(me.GetPermissions(), p) {
					t.Errorf("%v lacks %s: %v", tc.role, p, me.GetPermissions())
				}
			}
			for _, p := range tc.lack {
				if slices.Contains(me.GetPermissions(), p) {
					t.Errorf("%v has %s: %v", tc.role, p, me.GetPermissions())
				}
			}
		})
	}
}

func wantRetryInfo(t *testing.T, err error, header metadata.MD) {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != codes.ResourceExhausted {
		t.Fatalf("got %v, want ResourceExhausted", err)
	}
	found := false
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay().AsDuration() > 0 {
			found = true
		}
	}
	if !found {
		t.Fatalf("no RetryInfo in %v", st.Details())
	}
	if v := header.Get("retry-after"); len(v) != 1 || v[0] == "0" {
		t.Fatalf("retry-after header %v", v)
	}
}

func TestLoginLimitedWithFakeLimiters(t *testing.T) {
	account := &fakeLimiter{n: 2, retry: 30 * time.Second}
	address := &fakeLimiter{n: 100, retry: time.Second}
	e := newEnv(t, envOptions{account: account, address: address})
	u := e.newUser(t, goodPassword)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-forwarded-for", "203.0.113.7, 10.0.0.1")
	for range 2 {
		if _, err := e.client.Login(ctx, &authv1.LoginRequest{Email: u.Email, Password: "wrong password!"}); status.Code(err) != codes.Unauthenticated {
			t.Fatalf("attempt within the limit: %v", err)
		}
	}
	// The third attempt is refused before the password is even checked.
	var header metadata.MD
	_, err := e.client.Login(ctx, &authv1.LoginRequest{Email: strings.ToUpper(u.Email), Password: goodPassword}, grpc.Header(&header))
	wantRetryInfo(t, err, header)
	if header.Get("retry-after")[0] != "30" {
		t.Fatalf("retry-after %v", header.Get("retry-after"))
	}
	if got := account.keys(); got["login:account:"+u.Email] != 3 {
		t.Fatalf("account limiter keys %v", got)
	}
	if got := address.keys(); got["login:address:203.0.113.7"] != 3 {
		t.Fatalf("address limiter keys %v", got)
	}

	// The address limit covers signups too.
	address.n = 0
	_, err = e.client.Signup(ctx, &authv1.SignupRequest{Email: uniqueEmail(), Password: goodPassword}, grpc.Header(&header))
	wantRetryInfo(t, err, header)
}

func TestLoginLimiterFailureAllows(t *testing.T) {
	broken := &fakeLimiter{err: errors.New("limiter down")}
	e := newEnv(t, envOptions{account: broken, address: broken})
	u := e.newUser(t, goodPassword)
	e.login(t, u.Email, goodPassword)
	if !strings.Contains(e.logs.String(), "attempt limiter failed") {
		t.Fatal("limiter failure not logged")
	}
}

func TestLoginLimitedWithRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Redis; skipped with -short")
	}
	var cfg ratelimit.Config
	if err := config.Load(&cfg); err != nil {
		t.Fatal(err)
	}
	cfg.KeyPrefix = "agenttrace-test:" + uuidOf(t, "").String() + ":"
	cfg.RedisTimeout = time.Second // a loaded test machine; the default fits production
	lim, err := ratelimit.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lim.Close(context.Background()) })
	limits := identity.LimitConfig{AccountAttempts: 3, AddressAttempts: 1000, Period: time.Hour}
	accountLimit, addressLimit := limits.Limits()
	e := newEnv(t, envOptions{
		account: identity.RedisLimiter{Limiter: lim, Limit: accountLimit},
		address: identity.RedisLimiter{Limiter: lim, Limit: addressLimit},
	})
	u := e.newUser(t, goodPassword)
	ctx := context.Background()
	for range 3 {
		if _, err := e.client.Login(ctx, &authv1.LoginRequest{Email: u.Email, Password: "wrong password!"}); status.Code(err) != codes.Unauthenticated {
			t.Fatalf("attempt within the limit: %v", err)
		}
	}
	var header metadata.MD
	_, err = e.client.Login(ctx, &authv1.LoginRequest{Email: u.Email, Password: goodPassword}, grpc.Header(&header))
	wantRetryInfo(t, err, header)
	// Another account is not affected.
	other := e.newUser(t, goodPassword)
	e.login(t, other.Email, goodPassword)
}
