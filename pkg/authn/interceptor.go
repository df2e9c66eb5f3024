package authn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/agenttrace/agenttrace/pkg/apierror"
	"github.com/agenttrace/agenttrace/pkg/authz"
)

// authRetryAfter is when a caller is told to try again while auth cannot
// answer: the cache asks auth about a key at most once a second.
const authRetryAfter = time.Second

// UnaryServerInterceptor authenticates unary calls with a and authorizes
// them with authz.
func UnaryServerInterceptor(a Authenticator) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := authorize(ctx, a, info.FullMethod, req)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor authenticates streaming calls with a and
// authorizes them with authz. A stream's messages come after this decision,
// so only the project header names its target.
func StreamServerInterceptor(a Authenticator) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, err := authorize(ss.Context(), a, info.FullMethod, nil)
		if err != nil {
			return err
		}
		if ctx == ss.Context() {
			return handler(srv, ss)
		}
		return handler(srv, &wrappedStream{ServerStream: ss, ctx: ctx})
	}
}

type wrappedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (w *wrappedStream) Context() context.Context { return w.ctx }

const credentialsHelp = "send Basic base64(public_key:secret_key), Bearer secret_key or Bearer access_token"

// authorize returns ctx carrying the caller's principal, or the status to
// refuse the call with. Public methods get no principal.
func authorize(ctx context.Context, a Authenticator, method string, req any) (context.Context, error) {
	rule, ok := authz.Lookup(method)
	if !ok {
		// A served method nobody decided about: refuse it, and tell the
		// operator, since it is a bug.
		slog.ErrorContext(ctx, "method missing from the permission table", "method", method)
		return nil, status.Error(codes.PermissionDenied, "permission denied: this method is not open to any caller")
	}
	if rule.Permission == authz.Public {
		return ctx, nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get("authorization")
	if len(vals) == 0 {
		return nil, status.Error(codes.Unauthenticated, "missing authorization: "+credentialsHelp)
	}
	r, err := target(rule, md, req)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	r.Authorization = vals[0]
	p, err := a.Authenticate(ctx, r)
	switch {
	case err == nil:
	case errors.Is(err, ErrNoCredentials):
		return nil, status.Error(codes.Unauthenticated, "malformed authorization: "+credentialsHelp)
	case errors.Is(err, ErrInvalidCredentials):
		return nil, status.Error(codes.Unauthenticated, ErrInvalidCredentials.Error())
	case errors.Is(err, ErrNoAccess):
		return nil, status.Error(codes.PermissionDenied, ErrNoAccess.Error())
	case errors.Is(err, ErrTargetRequired):
		// Like a missing field, not a refusal: the caller can fix it.
		return nil, targetStatus(err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return nil, status.FromContextError(err).Err()
	default:
		// The caller only learns to retry; why auth could not answer is
		// for the operator.
		slog.WarnContext(ctx, "cannot verify credentials", "method", method, "err", err)
		return nil, apierror.Unavailable("cannot verify credentials now; retry", authRetryAfter)
	}
	if err := authz.Check(method, p); err != nil {
		if te := missingTarget(rule, p, req); te != nil {
			// A user who named no project or organization has no role to
			// judge: what is missing is the name, not a permission.
			return nil, targetStatus(te)
		}
		return nil, status.Error(codes.PermissionDenied,
			fmt.Sprintf("permission denied: this call needs %s, which this %s does not have", rule.Permission, p.Kind))
	}
	return WithPrincipal(ctx, p), nil
}

// missingTarget says how to name the project or organization a user's call
// acts on, when they named none and a role there could grant the call; nil
// otherwise.
func missingTarget(rule authz.Rule, p Principal, req any) *TargetError {
	if p.Kind != KindUser || p.OrganizationID != "" || !authz.RoleGrantable(rule.Permission) {
		return nil
	}
	if rule.OrganizationScoped || rule.DefaultOrganization {
		return &TargetError{Field: "organization_id", Reason: "this call acts on an organization; name it in the request's organization_id field"}
	}
	reason := "this call acts on a project; name it with the X-AgentTrace-Project header (REST) or the " + ProjectHeader + " metadata key (gRPC)"
	if _, ok := req.(projectNamer); ok {
		reason += ", or in the request's project_id field"
	}
	return &TargetError{Field: ProjectHeader, Reason: reason}
}

// targetStatus is InvalidArgument naming the field (or header) in a
// BadRequest detail, the shape every service gives a bad field.
func targetStatus(err error) error {
	var te *TargetError
	if !errors.As(err, &te) {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	return apierror.InvalidArgument(te.Field, te.Reason)
}
