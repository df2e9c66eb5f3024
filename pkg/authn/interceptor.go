package authn

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
)

// Calls that need no credentials: probes and reflection (whole services),
// and the key check itself, whose request carries the credentials. The key
// check is matched exactly so that a method added to AuthService later is
// not public by accident.
var (
	publicServices = []string{
		"/grpc.health.v1.Health/",
		"/grpc.reflection.",
	}
	publicMethods = map[string]bool{
		authv1.AuthService_ValidateAPIKey_FullMethodName: true,
	}
)

func isPublic(method string) bool {
	if publicMethods[method] {
		return true
	}
	for _, p := range publicServices {
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
		ctx, err := authenticate(ctx, v, info.FullMethod)
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
		ctx, err := authenticate(ss.Context(), v, info.FullMethod)
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

func authenticate(ctx context.Context, v Validator, method string) (context.Context, error) {
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
		// The caller only learns to retry; why auth could not answer is
		// for the operator.
		slog.WarnContext(ctx, "cannot verify credentials", "method", method, "err", err)
		return nil, status.Error(codes.Unavailable, "cannot verify credentials now; retry")
	}
}
