// Package edge builds the shell of a service whose gRPC API is called with
// API keys and user or service tokens (ingest, query, worker): the auth
// client's interceptors, the rate limiter after them (limits are per
// caller), their closers and metrics, and the NATS connection on which auth
// announces the revocations that evict cached callers. Auth itself resolves
// its callers in process and does not use it.
package edge

import (
	"context"
	"errors"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/agenttrace/agenttrace/pkg/authn"
	"github.com/agenttrace/agenttrace/pkg/config"
	"github.com/agenttrace/agenttrace/pkg/ratelimit"
	"github.com/agenttrace/agenttrace/pkg/service"
	"github.com/agenttrace/agenttrace/pkg/stream"
)

// Config is how callers are checked.
type Config struct {
	// Auth is how callers are resolved (and cached).
	Auth authn.ClientConfig
	// RateLimit, when set, limits calls per project and per key in Redis,
	// with local limits while Redis is away.
	RateLimit *ratelimit.Config
}

// Shell is a service shell whose calls are authenticated and limited.
type Shell struct {
	*service.Shell
	auth *authn.Client
}

// New builds the shell of the named service. From then on the shell owns
// (and at shutdown closes) the auth client and the limiter.
func New(ctx context.Context, name string, base config.Base, cfg Config, opts ...service.Option) (*Shell, error) {
	auth, err := authn.NewClient(cfg.Auth)
	if err != nil {
		return nil, err
	}
	closers := []func(context.Context) error{auth.Close}
	release := func(err error) error {
		for _, c := range closers {
			err = errors.Join(err, c(ctx))
		}
		return err
	}
	own := []service.Option{auth.Interceptors()}
	var limiter *ratelimit.Limiter
	if cfg.RateLimit != nil {
		// A nil logger logs through the shell's, once it is built.
		if limiter, err = ratelimit.New(*cfg.RateLimit, nil); err != nil {
			return nil, release(err)
		}
		closers = append(closers, limiter.Close)
		// After auth: limits are per caller.
		own = append(own, limiter.Interceptors())
	}
	sh, err := service.New(ctx, name, base, append(own, opts...)...)
	if err != nil {
		return nil, release(err)
	}
	sh.OnClose("auth client", auth.Close)
	if limiter != nil {
		sh.OnClose("rate limiter", limiter.Close)
		if err := sh.Registry().Register(limiter); err != nil {
			return nil, err
		}
	}
	return &Shell{Shell: sh, auth: auth}, nil
}

// ConnectNATS opens the service's NATS connection, which keeps retrying
// in the background (the service starts while NATS is down), closes it
// after every closer registered later, and follows auth's revocations on
// it.
func (s *Shell) ConnectNATS(ctx context.Context, cfg stream.Config) (*nats.Conn, jetstream.JetStream, error) {
	nc, js, err := stream.Connect(ctx, cfg, s.Name())
	if err != nil {
		return nil, nil, err
	}
	s.OnClose("nats", func(context.Context) error { nc.Close(); return nil })
	if err := s.auth.FollowRevocations(nc); err != nil {
		return nil, nil, err
	}
	return nc, js, nil
}
