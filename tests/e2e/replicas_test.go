package e2e

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
)

// propagationBound is how soon a removed member or a revoked key must be
// refused on every replica (the requirement).
const propagationBound = time.Second

// TestReplicaInvalidation runs a second query replica and checks that a
// member's removal and a key's revocation are honoured by both replicas
// within a second, though each had the credential cached as valid (the
// cache TTL is ten times longer).
func TestReplicaInvalidation(t *testing.T) {
	s := requireStack(t)
	replica := s.startReplica(t, "query-replica2")

	founder, org := s.founder(t)
	project := s.createProject(t, founder, org, "replicas-"+randomHex(3)).GetId()
	member := s.newMember(t, founder, org, authv1.Role_ROLE_MEMBER, "replicated")
	key := s.createKey(t, founder, project)

	replicas := map[string]queryv1.QueryServiceClient{
		"query":          queryv1.NewQueryServiceClient(dial(t, s.addr["query"].grpc)),
		"query-replica2": queryv1.NewQueryServiceClient(dial(t, replica.grpc)),
	}
	asMember := func(ctx context.Context) context.Context { return withUser(ctx, member, project) }
	asKey := func(ctx context.Context) context.Context { return withKey(ctx, key) }
	asOwner := func(ctx context.Context) context.Context { return withUser(ctx, founder, project) }
	// Both credentials work, and are cached, on both replicas.
	for name, q := range replicas {
		for who, as := range map[string]func(context.Context) context.Context{"member": asMember, "key": asKey} {
			for range 2 {
				if _, err := q.ListTraces(as(t.Context()), &queryv1.ListTracesRequest{}); err != nil {
					t.Fatalf("%s on %s before the change: %v", who, name, err)
				}
			}
		}
	}

	t.Run("member removal", func(t *testing.T) {
		r := s.asUser(founder, "").do(t, http.MethodDelete, "/api/v1/organizations/"+org+"/members/"+member.ID, nil)
		if r.status != http.StatusOK {
			t.Fatalf("remove member: %s", r)
		}
		waitRefusedEverywhere(t, replicas, asMember, time.Now(), codes.PermissionDenied, codes.Unauthenticated)
	})

	t.Run("key revocation", func(t *testing.T) {
		r := s.asUser(founder, project).do(t, http.MethodDelete, "/api/v1/api-keys/"+key.KeyID, nil)
		if r.status != http.StatusOK {
			t.Fatalf("revoke key: %s", r)
		}
		waitRefusedEverywhere(t, replicas, asKey, time.Now(), codes.Unauthenticated)
	})

	for name, q := range replicas {
		if _, err := q.ListTraces(asOwner(t.Context()), &queryv1.ListTracesRequest{}); err != nil {
			t.Errorf("the owner on %s after the changes: %v", name, err)
		}
	}
}

// waitRefusedEverywhere polls every replica with the credentials of as
// until each refuses with one of codes; it fails when one still answers
// (or refuses otherwise) propagationBound after changed.
func waitRefusedEverywhere(t *testing.T, replicas map[string]queryv1.QueryServiceClient,
	as func(context.Context) context.Context, changed time.Time, want ...codes.Code) {
	t.Helper()
	for name, q := range replicas {
		for {
			_, err := q.ListTraces(as(t.Context()), &queryv1.ListTracesRequest{})
			code := status.Code(err)
			if code != codes.OK && slices.Contains(want, code) {
				t.Logf("%s refuses after %s (%s)", name, time.Since(changed).Round(time.Millisecond), code)
				break
			}
			if time.Since(changed) > propagationBound {
				t.Errorf("%s: still %v %s after the change, want %v", name, describeErr(err), propagationBound, want)
				break
			}
			time.Sleep(25 * time.Millisecond)
		}
	}
}

func describeErr(err error) string {
	if err == nil {
		return "answering"
	}
	return fmt.Sprintf("refusing with %s", status.Code(err))
}

// startReplica starts another process of the query service against the same
// backends and waits until it is ready; the test stops it at the end.
func (s *stack) startReplica(t *testing.T, label string) addrs {
	t.Helper()
	ports := freeAddrs(2)
	a := addrs{grpc: ports[0], admin: ports[1]}
	// A long cache TTL: only the invalidation notice can make it refuse in time.
	env := append(s.commonEnv(), "AGENTTRACE_GRPC_ADDR="+a.grpc, "AGENTTRACE_ADMIN_ADDR="+a.admin, "AGENTTRACE_AUTH_CACHE_TTL=60s")
	p, err := s.start(label, env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.stop(); err != nil {
			t.Error(err)
		}
	})
	if err := s.waitReady(t.Context(), label, a.admin); err != nil {
		t.Fatal(err)
	}
	return a
}
