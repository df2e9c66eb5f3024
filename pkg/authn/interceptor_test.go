package authn

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// validatorFunc adapts a function to Validator.
type validatorFunc func(ctx context.Context, c Credentials) (Principal, error)

func (f validatorFunc) Validate(ctx context.Context, c Credentials) (Principal, error) {
	return f(ctx, c)
}

// fixedValidator knows one Bearer secret.
func fixedValidator(secret string, p Principal) Validator {
	return validatorFunc(func(_ context.Context, c Credentials) (Principal, error) {
		if c.SecretKey != secret {
			return Principal{}, ErrInvalidKey
		}
		return p, nil
	})
}

func incoming(headers ...string) context.Context {
	return metadata.NewIncomingContext(context.Background(), metadata.Pairs(headers...))
}

type interceptorCase struct {
	name      string
	method    string
	ctx       context.Context
	validator Validator
	wantCode  codes.Code
	wantP     *Principal // principal the handler must see
}

func interceptorCases() []interceptorCase {
	v := fixedValidator("sk-good", alice)
	unavailable := validatorFunc(func(context.Context, Credentials) (Principal, error) {
		return Principal{}, errors.New("connection refused")
	})
	canceled := validatorFunc(func(context.Context, Credentials) (Principal, error) {
		return Principal{}, context.Canceled
	})
	const private = "/agenttrace.query.v1.QueryService/GetTrace"
	return []interceptorCase{
		{name: "bearer ok", method: private, ctx: incoming("authorization", "Bearer sk-good"), validator: v, wantCode: codes.OK, wantP: &alice},
		{name: "basic ok", method: private, ctx: incoming("authorization", basic("pk-alice:sk-good")), validator: v, wantCode: codes.OK, wantP: &alice},
		{name: "no metadata", method: private, ctx: context.Background(), validator: v, wantCode: codes.Unauthenticated},
		{name: "no authorization", method: private, ctx: incoming("x-other", "1"), validator: v, wantCode: codes.Unauthenticated},
		{name: "malformed", method: private, ctx: incoming("authorization", "Token abc"), validator: v, wantCode: codes.Unauthenticated},
		{name: "wrong key", method: private, ctx: incoming("authorization", "Bearer sk-bad"), validator: v, wantCode: codes.Unauthenticated},
		{name: "validator down", method: private, ctx: incoming("authorization", "Bearer sk-good"), validator: unavailable, wantCode: codes.Unavailable},
		{name: "caller gone", method: private, ctx: incoming("authorization", "Bearer sk-good"), validator: canceled, wantCode: codes.Canceled},
		{name: "health is public", method: "/grpc.health.v1.Health/Check", ctx: context.Background(), validator: unavailable, wantCode: codes.OK},
		{name: "reflection is public", method: "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", ctx: context.Background(), validator: unavailable, wantCode: codes.OK},
		{name: "validate is public", method: "/agenttrace.auth.v1.AuthService/ValidateAPIKey", ctx: context.Background(), validator: unavailable, wantCode: codes.OK},
		{name: "other auth methods are not", method: "/agenttrace.auth.v1.AuthService/ValidateAPIKeys", ctx: context.Background(), validator: v, wantCode: codes.Unauthenticated},
	}
}

func TestUnaryServerInterceptor(t *testing.T) {
	for _, tt := range interceptorCases() {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			handler := func(ctx context.Context, req any) (any, error) {
				called = true
				checkPrincipal(t, ctx, tt.wantP)
				return "resp", nil
			}
			resp, err := UnaryServerInterceptor(tt.validator)(tt.ctx, "req", &grpc.UnaryServerInfo{FullMethod: tt.method}, handler)
			if got := status.Code(err); got != tt.wantCode {
				t.Fatalf("code = %v (%v), want %v", got, err, tt.wantCode)
			}
			if called != (tt.wantCode == codes.OK) {
				t.Fatalf("handler called = %v, want %v", called, tt.wantCode == codes.OK)
			}
			if tt.wantCode == codes.OK && resp != "resp" {
				t.Fatalf("response %v not passed through", resp)
			}
		})
	}
}

type fakeStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (f *fakeStream) Context() context.Context { return f.ctx }

func TestStreamServerInterceptor(t *testing.T) {
	for _, tt := range interceptorCases() {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			handler := func(srv any, ss grpc.ServerStream) error {
				called = true
				checkPrincipal(t, ss.Context(), tt.wantP)
				return nil
			}
			err := StreamServerInterceptor(tt.validator)(nil, &fakeStream{ctx: tt.ctx}, &grpc.StreamServerInfo{FullMethod: tt.method}, handler)
			if got := status.Code(err); got != tt.wantCode {
				t.Fatalf("code = %v (%v), want %v", got, err, tt.wantCode)
			}
			if called != (tt.wantCode == codes.OK) {
				t.Fatalf("handler called = %v, want %v", called, tt.wantCode == codes.OK)
			}
		})
	}
}

func checkPrincipal(t *testing.T, ctx context.Context, want *Principal) {
	t.Helper()
	got, ok := FromContext(ctx)
	if want == nil {
		if ok {
			t.Fatalf("public method got principal %+v", got)
		}
		return
	}
	if !ok || !reflect.DeepEqual(got, *want) {
		t.Fatalf("principal = %+v, %v; want %+v", got, ok, *want)
	}
}

// The secret must never be echoed back to the caller in an error.
func TestInterceptorErrorsDoNotEchoSecrets(t *testing.T) {
	const secret = "sk-at-super-secret-value"
	v := validatorFunc(func(context.Context, Credentials) (Principal, error) {
		return Principal{}, errors.New("lookup of " + secret + " failed")
	})
	for _, h := range []string{"Bearer " + secret, "Token " + secret} {
		_, err := UnaryServerInterceptor(v)(incoming("authorization", h), nil,
			&grpc.UnaryServerInfo{FullMethod: "/x.Y/Z"}, func(context.Context, any) (any, error) { return nil, nil })
		if err == nil {
			t.Fatal("want an error")
		}
		if msg := status.Convert(err).Message(); strings.Contains(msg, secret) {
			t.Fatalf("error message %q echoes the secret", msg)
		}
	}
}
