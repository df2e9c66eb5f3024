package e2e

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
)

// visibleTimeout bounds how long ingested data may take to become queryable
// (the design target is 1 s at p99; this is a slow, shared machine).
const visibleTimeout = 60 * time.Second

// projectASpec is the main data set: 50 traces of 20 observations (1,000)
// and 100 scores.
func projectASpec(base time.Time) fixtureSpec {
	return fixtureSpec{
		label: "a", seed: 1, traces: 50, obsPerTrace: 20, scores: 100, sessions: 8, users: 5,
		base: base, batchSize: 50, resendEvery: 4, updateEvery: [3]int{3, 3, 5},
	}
}

// projectBSpec writes the same ids as project A (a subset) with other content.
func projectBSpec(base time.Time) fixtureSpec {
	return fixtureSpec{
		label: "b", seed: 2, traces: 5, obsPerTrace: 8, scores: 10, sessions: 2, users: 2,
		base: base, batchSize: 30, resendEvery: 2, updateEvery: [3]int{2, 3, 3},
	}
}

// TestEndToEnd ingests a project's traces over REST, checks every field of
// what query shows, then proves tenancy, key revocation and authentication.
// The subtests run in order on shared data.
func TestEndToEnd(t *testing.T) {
	s := requireStack(t)
	keyA := s.bootstrap(t, "e2e-a", "a")
	keyB := s.bootstrap(t, "e2e-b", "b")
	if keyA.ProjectID == keyB.ProjectID || keyA.OrganizationID == keyB.OrganizationID {
		t.Fatalf("bootstrap of two organizations returned shared ids: %+v %+v", keyA, keyB)
	}
	a, b := s.rest(keyA.basic()), s.rest(keyB.basic())
	base := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Hour)
	fixA := newFixture(projectASpec(base))
	wantA := merge(keyA.ProjectID, fixA.allEvents())

	if !t.Run("ingest", func(t *testing.T) {
		start := time.Now()
		sendFixture(t, a, fixA)
		t.Logf("sent %s in %s", fixA.describe(), time.Since(start).Round(time.Millisecond))
	}) {
		return
	}

	// The later subtests run even when this one fails: they check other
	// properties and their reports help locate the fault.
	t.Run("query shows the merged state", func(t *testing.T) {
		eventually(t, "project A visible and merged", visibleTimeout, func() problems {
			return checkProject(t, a, wantA)
		})
	})

	t.Run("query over gRPC", func(t *testing.T) {
		q := queryv1.NewQueryServiceClient(dial(t, s.addr["query"].grpc))
		id := traceID(0)
		got, err := q.GetTrace(withKey(t.Context(), keyA), &queryv1.GetTraceRequest{TraceId: id})
		if err != nil {
			t.Fatalf("GetTrace over gRPC: %v", err)
		}
		var p problems
		checkTrace(&p, "gRPC GetTrace "+id, wantA.getTrace(id), got)
		if err := p.err(); err != nil {
			t.Error(err)
		}
		_, err = q.GetTrace(t.Context(), &queryv1.GetTraceRequest{TraceId: id})
		if status.Code(err) != codes.Unauthenticated {
			t.Errorf("GetTrace without credentials: want Unauthenticated, got %v", err)
		}
		_, err = q.GetTrace(withKey(t.Context(), keyB), &queryv1.GetTraceRequest{TraceId: id})
		if status.Code(err) != codes.NotFound {
			t.Errorf("GetTrace of project A's trace with project B's key: want NotFound, got %v", err)
		}
		in := ingestv1.NewIngestServiceClient(dial(t, s.addr["ingest"].grpc))
		_, err = in.IngestBatch(t.Context(), &ingestv1.IngestBatchRequest{Batch: probeEvents("grpc-unauth")})
		if status.Code(err) != codes.Unauthenticated {
			t.Errorf("IngestBatch without credentials: want Unauthenticated, got %v", err)
		}
	})

	t.Run("tenancy", func(t *testing.T) {
		testTenancy(t, a, b, keyB, wantA, base)
	})

	t.Run("api key revocation", func(t *testing.T) {
		testRevocation(t, s, a, keyA)
	})

	t.Run("unauthenticated", func(t *testing.T) {
		testUnauthenticated(t, s, keyA)
	})
}

// sendFixture sends every batch of f, then the retried ones again; each
// answer must accept every event (a retry is deduplicated silently).
func sendFixture(t *testing.T, c *restClient, f *fixture) {
	t.Helper()
	for _, batch := range f.batches {
		c.mustIngest(t, batch)
	}
	for _, i := range f.resend {
		c.mustIngest(t, f.batches[i])
	}
}

func testTenancy(t *testing.T, a, b *restClient, keyB apiKey, wantA *want, base time.Time) {
	id := traceID(0)
	checkError(t, "project B reads project A's trace", b.do(t, http.MethodGet, "/api/v1/traces/"+id, nil), http.StatusNotFound, "NOT_FOUND")
	checkError(t, "project B reads project A's session", b.do(t, http.MethodGet, "/api/v1/sessions/"+sessionID(0), nil), http.StatusNotFound, "NOT_FOUND")
	var p problems
	tr, err := listTraces(t, b, url.Values{"page_size": {"1000"}})
	p.check(err)
	checkList(&p, "project B lists traces", nil, tr)
	for _, q := range []url.Values{{"page_size": {"1000"}}, {"trace_id": {id}}} {
		obs, err := listObservations(t, b, q)
		p.check(err)
		checkList(&p, "project B lists observations "+q.Encode(), nil, obs)
		sc, err := listScores(t, b, q)
		p.check(err)
		checkList(&p, "project B lists scores "+q.Encode(), nil, sc)
	}
	se, err := listSessions(t, b, url.Values{"page_size": {"1000"}})
	p.check(err)
	checkList(&p, "project B lists sessions", nil, se)
	if err := p.err(); err != nil {
		t.Error(err)
	}

	// B writes objects with A's ids (and A's event ids): they must become
	// B's objects and leave A's untouched.
	fixB := newFixture(projectBSpec(base))
	wantB := merge(keyB.ProjectID, fixB.allEvents())
	sendFixture(t, b, fixB)
	eventually(t, "project B sees exactly its own data", visibleTimeout, func() problems {
		return checkProject(t, b, wantB)
	})
	if err := checkProject(t, a, wantA).err(); err != nil {
		t.Errorf("project A changed after project B wrote the same ids:\n%v", err)
	}
}

func testRevocation(t *testing.T, s *stack, a *restClient, keyA apiKey) {
	var created authv1.CreateAPIKeyResponse
	r := a.send(t, http.MethodPost, "/api/v1/api-keys", &authv1.CreateAPIKeyRequest{Note: "e2e second key"}, &created)
	if r.status != http.StatusOK {
		t.Fatalf("create API key: %s", r)
	}
	k := created.GetApiKey()
	if k.GetProjectId() != keyA.ProjectID || k.GetId() == "" || !strings.HasPrefix(k.GetPublicKey(), "pk-at-") ||
		!strings.HasPrefix(created.GetSecretKey(), "sk-at-") || k.GetRevokedAt() != nil || k.GetCreatedAt() == nil {
		t.Fatalf("create API key: unexpected answer %s", r)
	}
	key2 := apiKey{ProjectID: keyA.ProjectID, KeyID: k.GetId(), PublicKey: k.GetPublicKey(), SecretKey: created.GetSecretKey()}
	basic2, bearer2 := s.rest(key2.basic()), s.rest("Bearer "+key2.SecretKey)

	// Use the key on both paths so that ingest and query cache it as valid.
	for name, c := range map[string]*restClient{"basic": basic2, "bearer": bearer2} {
		c.mustIngest(t, probeEvents("key2-"+name))
		c.mustGet(t, "/api/v1/traces/"+traceID(0), &queryv1.GetTraceResponse{})
	}

	var keys authv1.ListAPIKeysResponse
	a.mustGet(t, "/api/v1/api-keys", &keys)
	var listed *authv1.APIKey
	for _, lk := range keys.GetApiKeys() {
		if lk.GetId() == key2.KeyID {
			listed = lk
		}
	}
	if listed == nil || len(keys.GetApiKeys()) < 2 {
		t.Errorf("list API keys: want both keys of project A, got %v", keys.GetApiKeys())
	}
	if strings.Contains(fmt.Sprint(keys.GetApiKeys()), key2.SecretKey) || strings.Contains(fmt.Sprint(keys.GetApiKeys()), keyA.SecretKey) {
		t.Errorf("list API keys returns a secret")
	}

	rv := a.do(t, http.MethodDelete, "/api/v1/api-keys/"+url.PathEscape(key2.KeyID), nil)
	var revoked authv1.RevokeAPIKeyResponse
	if rv.status != http.StatusOK {
		t.Fatalf("revoke API key: %s", rv)
	}
	if err := strictJSON.Unmarshal(rv.body, &revoked); err != nil || revoked.GetApiKey().GetRevokedAt() == nil {
		t.Errorf("revoke API key: want the key with revoked_at, got %s (%v)", rv, err)
	}
	revokedAt := time.Now()

	// The cache TTL is 10 s; only the revocation notice over NATS can make
	// both services refuse the key within about a second.
	const within = 1500 * time.Millisecond
	for name, c := range map[string]*restClient{"basic": basic2, "bearer": bearer2} {
		for {
			ri, _ := c.ingest(t, probeEvents("after-revoke-"+name))
			rq := c.do(t, http.MethodGet, "/api/v1/traces/"+traceID(0), nil)
			if ri.status == http.StatusUnauthorized && rq.status == http.StatusUnauthorized {
				checkError(t, "ingest with a revoked key", ri, http.StatusUnauthorized, "UNAUTHENTICATED")
				checkError(t, "query with a revoked key", rq, http.StatusUnauthorized, "UNAUTHENTICATED")
				t.Logf("revoked key (%s) refused by ingest and query %s after revocation", name, time.Since(revokedAt).Round(time.Millisecond))
				break
			}
			if time.Since(revokedAt) > within {
				t.Errorf("revoked key (%s) still works %s after revocation: ingest %s; query %s", name, within, ri, rq)
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// The key that revoked it still works.
	a.mustGet(t, "/api/v1/traces/"+traceID(0), &queryv1.GetTraceResponse{})
}

func testUnauthenticated(t *testing.T, s *stack, keyA apiKey) {
	basic := func(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }
	cases := []struct{ name, authorization string }{
		{"no credentials", ""},
		{"unknown scheme", "Token " + keyA.SecretKey},
		{"basic without colon", basic("pk-at-nothing")},
		{"basic not base64", "Basic ***"},
		{"unknown key pair", basic("pk-at-00000000000000000000000000:sk-at-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")},
		{"right public key, wrong secret", basic(keyA.PublicKey + ":sk-at-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")},
		{"garbage bearer", "Bearer garbage"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := s.rest(tc.authorization)
			ri, _ := c.ingest(t, probeEvents("unauth"))
			checkError(t, "ingest", ri, http.StatusUnauthorized, "UNAUTHENTICATED")
			checkError(t, "query", c.do(t, http.MethodGet, "/api/v1/traces", nil), http.StatusUnauthorized, "UNAUTHENTICATED")
			checkError(t, "create API key", c.do(t, http.MethodPost, "/api/v1/api-keys", []byte(`{}`)), http.StatusUnauthorized, "UNAUTHENTICATED")
		})
	}
}

// probeEvents is a one-event batch with a fresh event id, to exercise a
// key. The probe trace is an extra trace of the project, so probes that are
// accepted come after the checks of the project's full state.
func probeEvents(label string) []*ingestv1.IngestEvent {
	n := probeN.Add(1)
	return []*ingestv1.IngestEvent{{
		Id:    fmt.Sprintf("probe-%s-%d", label, n),
		Type:  ingestv1.EventType_EVENT_TYPE_TRACE_CREATE,
		Trace: &ingestv1.TraceBody{Id: id(16, "probe"), Name: proto.String("probe"), Metadata: map[string]string{"probe": label}},
	}}
}

var probeN atomic.Int64
