package ratelimit

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/agenttrace/agenttrace/pkg/authn"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
	"github.com/agenttrace/agenttrace/pkg/service"
)

// Response header metadata of limited calls. The gateway turns them into
// the HTTP headers of the same names.
const (
	// HeaderLimit is the tightest limit's burst: the most calls the
	// bucket holds, which Remaining counts down from.
	HeaderLimit = "x-ratelimit-limit"
	// HeaderRemaining is how many calls the tightest limit still allows now.
	HeaderRemaining = "x-ratelimit-remaining"
	// HeaderReset is the whole seconds until the tightest limit's bucket is full.
	HeaderReset = "x-ratelimit-reset"
	// HeaderRetryAfter is the whole seconds to wait, on refused calls only.
	HeaderRetryAfter = "retry-after"
)

// Class is what kind of calls a limit counts.
type Class string

// Classes of limited calls.
const (
	ClassIngest Class = "ingest"
	ClassQuery  Class = "query"
)

// otlpExport is OTLP's trace export; the OTLP module declares no constant.
const otlpExport = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

// Classify tells which limits a gRPC method counts against; ok is false
// for methods that are not limited (health, reflection, auth's own).
func Classify(fullMethod string) (c Class, ok bool) {
	switch {
	case strings.HasPrefix(fullMethod, "/"+ingestv1.IngestService_ServiceDesc.ServiceName+"/"),
		fullMethod == otlpExport:
		return ClassIngest, true
	case strings.HasPrefix(fullMethod, "/"+queryv1.QueryService_ServiceDesc.ServiceName+"/"):
		return ClassQuery, true
	}
	return "", false
}

// Interceptors is the shell option that limits calls; install it after
// authentication, which it reads the caller from. With rate limiting
// disabled it adds nothing.
func (l *Limiter) Interceptors() service.Option {
	return service.WithInterceptors(l.interceptors())
}

func (l *Limiter) interceptors() (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor) {
	if !l.cfg.Enabled {
		return nil, nil
	}
	return l.UnaryServerInterceptor(), l.StreamServerInterceptor()
}

// UnaryServerInterceptor limits unary calls by the configured limits.
func (l *Limiter) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		md, err := l.checkCall(ctx, info.FullMethod)
		if md != nil {
			// Only fails once headers are sent, which no handler has done yet.
			_ = grpc.SetHeader(ctx, md)
		}
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor limits streaming calls by the configured limits;
// a stream counts once, when it opens.
func (l *Limiter) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		md, err := l.checkCall(ss.Context(), info.FullMethod)
		if md != nil {
			_ = ss.SetHeader(md)
		}
		if err != nil {
			return err
		}
		return handler(srv, ss)
	}
}

// scopedLimit is one limit a call counts against.
type scopedLimit struct {
	scope, id string
	limit     Limit
}

// callLimits are the limits a caller's call of class c counts against,
// narrowest first: a call refused by its key's limit then costs the
// project nothing. Services calling each other are not limited: the limits
// protect the platform from tenants, not from itself.
func (l *Limiter) callLimits(c Class, p authn.Principal) []scopedLimit {
	project, caller := l.limits.IngestProject, l.limits.IngestKey
	if c == ClassQuery {
		project, caller = l.limits.QueryProject, l.limits.QueryKey
	}
	var out []scopedLimit
	switch {
	case p.Kind == authn.KindAPIKey && p.KeyID != "":
		out = append(out, scopedLimit{"key", p.KeyID, caller})
	case p.Kind == authn.KindUser && p.UserID != "":
		out = append(out, scopedLimit{"user", p.UserID, caller})
	case p.Kind == authn.KindService:
		return nil
	}
	if p.ProjectID != "" {
		out = append(out, scopedLimit{"project", p.ProjectID, project})
	}
	return out
}

// checkCall decides a call. It returns the header metadata to send (nil
// for calls that are not limited) and, for refused calls, the error.
func (l *Limiter) checkCall(ctx context.Context, method string) (metadata.MD, error) {
	class, ok := Classify(method)
	if !ok {
		return nil, nil
	}
	p, ok := authn.FromContext(ctx)
	if !ok {
		return nil, nil
	}
	var tightest Result
	checked := false
	for _, sl := range l.callLimits(class, p) {
		if sl.limit.Disabled() {
			continue
		}
		res, err := l.Allow(ctx, "ratelimit:"+string(class)+":"+sl.scope+":"+sl.id, sl.limit)
		if err != nil {
			return nil, status.FromContextError(err).Err()
		}
		if !res.Allowed {
			l.m.decisions.WithLabelValues(string(class), "limited").Inc()
			md := headers(res)
			md.Set(HeaderRetryAfter, strconv.FormatInt(ceilSeconds(res.RetryAfter), 10))
			return md, refused(class, sl, res)
		}
		if !checked || res.Remaining < tightest.Remaining {
			tightest, checked = res, true
		}
	}
	if !checked {
		return nil, nil
	}
	l.m.decisions.WithLabelValues(string(class), "allowed").Inc()
	return headers(tightest), nil
}

func headers(r Result) metadata.MD {
	return metadata.Pairs(
		HeaderLimit, strconv.Itoa(r.Limit.Burst),
		HeaderRemaining, strconv.Itoa(r.Remaining),
		HeaderReset, strconv.FormatInt(ceilSeconds(r.ResetAfter), 10),
	)
}

func refused(c Class, sl scopedLimit, r Result) error {
	st := status.New(codes.ResourceExhausted,
		fmt.Sprintf("%s rate limit of this %s exceeded (%s); retry in %s", c, sl.scope, r.Limit, r.RetryAfter.Round(time.Millisecond)))
	detailed, err := st.WithDetails(
		&errdetails.RetryInfo{RetryDelay: durationpb.New(r.RetryAfter)},
		&errdetails.QuotaFailure{Violations: []*errdetails.QuotaFailure_Violation{{
			Subject:     sl.scope + ":" + sl.id,
			Description: fmt.Sprintf("%s calls limited to %s", c, r.Limit),
		}}},
	)
	if err != nil {
		// Only a detail that cannot be marshalled fails; the code and
		// the retry-after header still tell the client what to do.
		return st.Err()
	}
	return detailed.Err()
}

// ceilSeconds rounds up, so that a client waiting that long is allowed.
func ceilSeconds(d time.Duration) int64 {
	return int64(math.Ceil(d.Seconds()))
}
