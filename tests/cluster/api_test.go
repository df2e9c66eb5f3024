package cluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	collectortracev1 "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonv1 "go.opentelemetry.io/proto/otlp/common/v1"
	resourcev1 "go.opentelemetry.io/proto/otlp/resource/v1"
	tracev1 "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	commonv1at "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
)

// api is the platform as a client outside the pods sees it: the gateway's
// REST API and OTLP/HTTP on its Service, OTLP/gRPC on ingest's Service.
type api struct {
	base     string // http://<gateway cluster IP>:8080
	otlpGRPC string // <ingest cluster IP>:4317
	hc       *http.Client
}

var (
	wire   = protojson.MarshalOptions{}
	reader = protojson.UnmarshalOptions{DiscardUnknown: true}
)

// credential is how a request authenticates: an API key or a user's token
// acting on a project.
type credential struct {
	authorization string
	project       string
}

func keyCredential(public, secret string) credential {
	return credential{authorization: "Basic " + base64.StdEncoding.EncodeToString([]byte(public+":"+secret))}
}

func userCredential(access, project string) credential {
	return credential{authorization: "Bearer " + access, project: project}
}

// call sends one REST request (body marshalled from in when not nil) and
// decodes a 200 answer into out (when not nil). It returns the status.
func (a *api) call(ctx context.Context, cred credential, method, path string, in, out proto.Message, opts ...func(*http.Request)) (int, error) {
	var body io.Reader
	if in != nil {
		b, err := wire.Marshal(in)
		if err != nil {
			return 0, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, body)
	if err != nil {
		return 0, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if cred.authorization != "" {
		req.Header.Set("Authorization", cred.authorization)
	}
	if cred.project != "" {
		req.Header.Set("X-AgentTrace-Project", cred.project)
	}
	for _, o := range opts {
		o(req)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, fmt.Errorf("%s %s: HTTP %d: %.300s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		if err := reader.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: decode: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// tenant is a user owning an organization with one project and its API key.
type tenant struct {
	email, password string
	access          string
	org, project    string
	keyPublic       string
	keySecret       string
}

func (t *tenant) key() credential { return keyCredential(t.keyPublic, t.keySecret) }

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// signup makes the installation's first user (it founds an organization),
// logs in again with the password, and creates a project with an API key.
func (a *api) signup(ctx context.Context, label string) (*tenant, error) {
	t := &tenant{email: label + "-" + randomHex(4) + "@example.com", password: "pw-" + randomHex(12)}
	var su authv1.SignupResponse
	if _, err := a.call(ctx, credential{}, http.MethodPost, "/api/v1/auth/signup",
		&authv1.SignupRequest{Email: t.email, Password: t.password, Name: label, OrganizationName: label + "-org"}, &su); err != nil {
		return nil, fmt.Errorf("signup: %w", err)
	}
	var li authv1.LoginResponse
	if _, err := a.call(ctx, credential{}, http.MethodPost, "/api/v1/auth/login",
		&authv1.LoginRequest{Email: t.email, Password: t.password}, &li); err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	t.access = li.GetTokens().GetAccessToken()
	if t.access == "" {
		return nil, fmt.Errorf("login answered without an access token")
	}
	var me authv1.GetCurrentUserResponse
	if _, err := a.call(ctx, userCredential(t.access, ""), http.MethodGet, "/api/v1/auth/me", nil, &me); err != nil {
		return nil, err
	}
	if len(me.GetMemberships()) != 1 {
		return nil, fmt.Errorf("the new user belongs to %d organizations, want 1", len(me.GetMemberships()))
	}
	t.org = me.GetMemberships()[0].GetOrganizationId()
	if err := a.addProject(ctx, t, label+"-project"); err != nil {
		return nil, err
	}
	return t, nil
}

// addProject gives t a new project and an API key of it (t.project, t.key).
func (a *api) addProject(ctx context.Context, t *tenant, name string) error {
	var p authv1.CreateProjectResponse
	if _, err := a.call(ctx, userCredential(t.access, ""), http.MethodPost, "/api/v1/projects",
		&authv1.CreateProjectRequest{OrganizationId: t.org, Name: name + "-" + randomHex(3)}, &p); err != nil {
		return fmt.Errorf("create project: %w", err)
	}
	var k authv1.CreateAPIKeyResponse
	if _, err := a.call(ctx, userCredential(t.access, p.GetProject().GetId()), http.MethodPost, "/api/v1/api-keys",
		&authv1.CreateAPIKeyRequest{ProjectId: p.GetProject().GetId(), Note: "cluster test"}, &k); err != nil {
		return fmt.Errorf("create API key: %w", err)
	}
	t.project, t.keyPublic, t.keySecret = p.GetProject().GetId(), k.GetApiKey().GetPublicKey(), k.GetSecretKey()
	return nil
}

// agentTrace is a small agent run in native events: a trace, a span, a
// generation under it and a score.
func agentTrace(name string) (traceID string, batch *ingestv1.IngestBatchRequest) {
	traceID = randomHex(16)
	now := time.Now()
	ts := timestamppb.New(now)
	span, gen := "span-"+randomHex(6), "gen-"+randomHex(6)
	ev := func(typ ingestv1.EventType) *ingestv1.IngestEvent {
		return &ingestv1.IngestEvent{Id: "ev-" + randomHex(8), Type: typ, Timestamp: ts}
	}
	t := ev(ingestv1.EventType_EVENT_TYPE_TRACE_CREATE)
	t.Trace = &ingestv1.TraceBody{Id: traceID, Name: proto.String(name), UserId: proto.String("user-1"), SessionId: proto.String("session-" + traceID[:8])}
	s := ev(ingestv1.EventType_EVENT_TYPE_OBSERVATION_CREATE)
	s.Observation = &ingestv1.ObservationBody{Id: span, TraceId: traceID, Type: commonv1at.ObservationType_OBSERVATION_TYPE_SPAN, Name: proto.String("plan"),
		StartTime: timestamppb.New(now.Add(-2 * time.Second)), EndTime: timestamppb.New(now.Add(-time.Second))}
	g := ev(ingestv1.EventType_EVENT_TYPE_OBSERVATION_CREATE)
	g.Observation = &ingestv1.ObservationBody{Id: gen, TraceId: traceID, ParentObservationId: proto.String(span), Type: commonv1at.ObservationType_OBSERVATION_TYPE_GENERATION, Name: proto.String("llm"),
		Model: proto.String("gpt-4o-mini"), StartTime: timestamppb.New(now.Add(-1500 * time.Millisecond)), EndTime: timestamppb.New(now.Add(-time.Second))}
	sc := ev(ingestv1.EventType_EVENT_TYPE_SCORE_CREATE)
	sc.Score = &ingestv1.ScoreBody{Id: "score-" + randomHex(6), TraceId: traceID, Name: proto.String("quality"), Value: proto.Float64(0.9)}
	return traceID, &ingestv1.IngestBatchRequest{Batch: []*ingestv1.IngestEvent{t, s, g, sc}}
}

// ingest sends a batch through REST and fails unless every event is accepted.
func (a *api) ingest(ctx context.Context, cred credential, batch *ingestv1.IngestBatchRequest) error {
	var out ingestv1.IngestBatchResponse
	if _, err := a.call(ctx, cred, http.MethodPost, "/api/v1/ingestion", batch, &out, idempotent(batch)); err != nil {
		return err
	}
	if int(out.GetAccepted()) != len(batch.GetBatch()) {
		return fmt.Errorf("ingestion: %d of %d accepted: %v", out.GetAccepted(), len(batch.GetBatch()), out.GetResults())
	}
	return nil
}

// idempotent marks an ingestion request as safe to send again, as an SDK
// does: ingestion drops events whose ids it has seen, so a replay stores
// nothing twice. Go's client then sends it again, on a new connection,
// when a kept-alive connection it reused turns out closed before any answer
// (a gateway pod shutting down closes its idle connections; a request
// racing that close sees EOF, which HTTP/1.1 cannot rule out).
func idempotent(batch *ingestv1.IngestBatchRequest) func(*http.Request) {
	return func(r *http.Request) {
		if len(batch.GetBatch()) > 0 {
			r.Header.Set("Idempotency-Key", batch.GetBatch()[0].GetId())
		}
	}
}

// waitTrace reads a trace back until it has the given number of observations.
func (a *api) waitTrace(ctx context.Context, cred credential, traceID string, observations int) error {
	return eventually(ctx, 90*time.Second, 500*time.Millisecond, func(ctx context.Context) error {
		var got queryv1.GetTraceResponse
		if _, err := a.call(ctx, cred, http.MethodGet, "/api/v1/traces/"+url.PathEscape(traceID), nil, &got); err != nil {
			return err
		}
		if n := countNodes(got.GetObservations()); n < observations {
			return fmt.Errorf("trace %s has %d observations, want %d", traceID, n, observations)
		}
		return nil
	})
}

// otlpRequest is a two-span OTLP export (an agent span and an LLM call with
// GenAI attributes) of a new trace; it returns the trace id as hex.
func otlpRequest(service string) (string, *collectortracev1.ExportTraceServiceRequest) {
	tid, root, child := make([]byte, 16), make([]byte, 8), make([]byte, 8)
	for _, b := range [][]byte{tid, root, child} {
		if _, err := rand.Read(b); err != nil {
			panic(err)
		}
	}
	now := uint64(time.Now().UnixNano())
	str := func(k, v string) *commonv1.KeyValue {
		return &commonv1.KeyValue{Key: k, Value: &commonv1.AnyValue{Value: &commonv1.AnyValue_StringValue{StringValue: v}}}
	}
	req := &collectortracev1.ExportTraceServiceRequest{ResourceSpans: []*tracev1.ResourceSpans{{
		Resource: &resourcev1.Resource{Attributes: []*commonv1.KeyValue{str("service.name", service)}},
		ScopeSpans: []*tracev1.ScopeSpans{{Spans: []*tracev1.Span{
			{TraceId: tid, SpanId: root, Name: "agent run", Kind: tracev1.Span_SPAN_KIND_INTERNAL,
				StartTimeUnixNano: now - 2e9, EndTimeUnixNano: now},
			{TraceId: tid, SpanId: child, ParentSpanId: root, Name: "chat gpt-4o-mini", Kind: tracev1.Span_SPAN_KIND_CLIENT,
				StartTimeUnixNano: now - 15e8, EndTimeUnixNano: now - 1e8,
				Attributes: []*commonv1.KeyValue{str("gen_ai.operation.name", "chat"), str("gen_ai.request.model", "gpt-4o-mini")}},
		}}},
	}}}
	return hex.EncodeToString(tid), req
}

// exportGRPC sends an OTLP/gRPC export to ingest's Service.
func (a *api) exportGRPC(ctx context.Context, cred credential, req *collectortracev1.ExportTraceServiceRequest) error {
	conn, err := grpc.NewClient(a.otlpGRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", cred.authorization)
	resp, err := collectortracev1.NewTraceServiceClient(conn).Export(ctx, req)
	if err != nil {
		return fmt.Errorf("OTLP/gRPC export: %w", err)
	}
	if ps := resp.GetPartialSuccess(); ps != nil && ps.GetRejectedSpans() > 0 {
		return fmt.Errorf("OTLP/gRPC export: %d spans rejected: %s", ps.GetRejectedSpans(), ps.GetErrorMessage())
	}
	return nil
}

// exportHTTP sends an OTLP/HTTP (protobuf) export to the gateway's Service.
func (a *api) exportHTTP(ctx context.Context, cred credential, req *collectortracev1.ExportTraceServiceRequest) error {
	b, err := proto.Marshal(req)
	if err != nil {
		return err
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base+"/v1/traces", bytes.NewReader(b))
	if err != nil {
		return err
	}
	r.Header.Set("Content-Type", "application/x-protobuf")
	r.Header.Set("Authorization", cred.authorization)
	resp, err := a.hc.Do(r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("OTLP/HTTP export: HTTP %d: %.300s", resp.StatusCode, body)
	}
	return nil
}

// traceIDs lists every trace id of the caller's project (paging through).
func (a *api) traceIDs(ctx context.Context, cred credential) (map[string]bool, error) {
	ids := map[string]bool{}
	token := ""
	for {
		q := url.Values{"page_size": {"100"}}
		if token != "" {
			q.Set("page_token", token)
		}
		var page queryv1.ListTracesResponse
		if _, err := a.call(ctx, cred, http.MethodGet, "/api/v1/traces?"+q.Encode(), nil, &page); err != nil {
			return nil, err
		}
		for _, t := range page.GetTraces() {
			ids[t.GetId()] = true
		}
		token = page.GetNextPageToken()
		if token == "" {
			return ids, nil
		}
	}
}

// countNodes counts the observations of a tree.
func countNodes(nodes []*queryv1.ObservationNode) int {
	n := len(nodes)
	for _, c := range nodes {
		n += countNodes(c.GetChildren())
	}
	return n
}
