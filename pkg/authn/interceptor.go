package authn

import (
	"context"
	"errors"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// publicMethods need no credentials: probes, reflection, and the key check
// itself (its request carries the credentials).
var publicPrefixes = []string{
	"/grpc.health.v1.Health/",
	"/grpc.reflection.",
	"/agenttrace.auth.v1.AuthService/ValidateAPIKey",
}

func isPublic(method string) bool {
	for _, p := range publicPrefixes {
		if strings.HasPrefix(method, p) {
			return true
		}
	}
	return false
}

// UnaryServerInterceptor authenticates unary calls with v.
func UnaryServerInterceptor(v Validator) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if isPublic(info.FullMethod) {
			return handler(ctx, req)
		}
		ctx, err := authenticate(ctx, v)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor authenticates streaming calls with v.
func StreamServerInterceptor(v Validator) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if isPublic(info.FullMethod) {
			return handler(srv, ss)
		}
		ctx, err := authenticate(ss.Context(), v)
		if err != nil {
			return err
		}
		return handler(srv, &wrappedStream{ServerStream: ss, ctx: ctx})
	}
}

type wrappedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (w *wrappedStream) Context() context.Context { return w.ctx }

func authenticate(ctx context.Context, v Validator) (context.Context, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get("authorization")
	if len(vals) == 0 {
		return nil, status.Error(codes.Unauthenticated, "missing authorization: send Basic base64(public_key:secret_key) or Bearer secret_key")
	}
	creds, err := ParseAuthorization(vals[0])
	if err != nil {
		return nil, status.Error(codes.Unauthenticated, "malformed authorization: send Basic base64(public_key:secret_key) or Bearer secret_key")
	}
	p, err := v.Validate(ctx, creds)
	switch {
	case err == nil:
		return WithPrincipal(ctx, p), nil
	case errors.Is(err, ErrInvalidKey):
		return nil, status.Error(codes.Unauthenticated, ErrInvalidKey.Error())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return nil, status.FromContextError(err).Err()
	default:
		return nil, status.Error(codes.Unavailable, "cannot verify credentials now; retry")
	}
}
