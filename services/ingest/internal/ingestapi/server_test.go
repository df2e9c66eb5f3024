package ingestapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/agenttrace/agenttrace/pkg/authn"
	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	"github.com/agenttrace/agenttrace/pkg/grpctest"
	"github.com/agenttrace/agenttrace/pkg/stream"
	"github.com/agenttrace/agenttrace/services/ingest/internal/ingestion"
	"github.com/agenttrace/agenttrace/services/ingest/internal/publisher"
	"github.com/agenttrace/agenttrace/services/ingest/internal/validation"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// keys stands in for the auth service: it maps secret keys to projects, each
// key with every scope.
type keys map[string]string

func (k keys) Authenticate(_ context.Context, r authn.Request) (authn.Principal, error) {
	c, err := authn.ParseAuthorization(r.Authorization)
	if err != nil {
		return authn.Principal{}, err
	}
	project, ok := k[c.SecretKey]
	if !ok {
		return authn.Principal{}, authn.ErrInvalidCredentials
	}
	return authn.Principal{KeyID: "key-" + project, PublicKey: "pk-" + project, OrganizationID: "org-" + project, ProjectID: project,
		Scopes: []authv1.APIKeyScope{authv1.APIKeyScope_API_KEY_SCOPE_INGEST, authv1.APIKeyScope_API_KEY_SCOPE_READ, authv1.APIKeyScope_API_KEY_SCOPE_ADMIN}}, nil
}

type harness struct {
	client ingestv1.IngestServiceClient
	cfg    stream.Config
	js     jetstream.JetStream
}

const maxRequestBytes = 4 << 20

// start serves ingest on a local port, publishing to natsURL under a fresh
// namespace; with declare it declares (and later deletes) the streams.
func start(t *testing.T, natsURL string, declare bool) *harness {
	t.Helper()
	return startWith(t, natsURL, declare, nil)
}

// startWith is start with an auditor for DeleteTrace (nil: deletion disabled).
func startWith(t *testing.T, natsURL string, declare bool, auditor ingestion.Auditor) *harness {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	cfg := stream.Config{Namespace: "apitest_" + hex.EncodeToString(b[:]), URL: natsURL, Replicas: 1,
		DuplicateWindow: 2 * time.Minute, MaxBytes: -1, DeadLetterMaxAge: time.Hour}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nc, js, err := stream.Connect(ctx, cfg, "ingestapi-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if declare {
		if err := stream.EnsureStreams(ctx, js, cfg); err != nil {
			t.Fatalf("EnsureStreams (is NATS with JetStream running on 127.0.0.1:4222?): %v", err)
		}
		t.Cleanup(func() {
			for _, name := range []string{cfg.EventsStream(), cfg.DeadLetterStream()} {
				if err := js.DeleteStream(context.Background(), name); err != nil {
					t.Errorf("delete stream %s: %v", name, err)
				}
			}
		})
	}
	pub, err := publisher.New(nc, cfg, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	svc := ingestion.NewService(ingestion.Config{Publisher: pub, Auditor: auditor, Limits: validation.DefaultLimits(), MaxBatch: 1000, Log: log})
	v := keys{"sk-a": "proj-a", "sk-b": "proj-b"}
	srv := grpc.NewServer(grpc.UnaryInterceptor(authn.UnaryServerInterceptor(v)), grpc.MaxRecvMsgSize(maxRequestBytes))
	ingestv1.RegisterIngestServiceServer(srv, NewServer(svc, log))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	grpctest.Serve(t, srv, lis)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(64<<20)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &harness{client: ingestv1.NewIngestServiceClient(conn), cfg: cfg, js: js}
}

func as(secret string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+secret)
}

func span(id string, inputBytes int) *ingestv1.IngestEvent {
	ev := &ingestv1.IngestEvent{Id: id, Type: ingestv1.EventType_EVENT_TYPE_OBSERVATION_CREATE,
		Observation: &ingestv1.ObservationBody{Id: "obs-" + id, TraceId: "trace-1", Type: 1}}
	if inputBytes > 0 {
		ev.Observation.Input = structpb.NewStringValue(strings.Repeat("x", inputBytes))
	}
	return ev
}

type stored struct {
	subject, msgID string
	env            *ingestv1.EventEnvelope
}

// messages reads the events stream back through an ephemeral consumer that
// does not ack (the work queue keeps the messages) and is deleted at once.
func (h *harness) messages(t *testing.T) []stored {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := h.js.Stream(ctx, h.cfg.EventsStream())
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs == 0 {
		return nil
	}
	cons, err := s.CreateConsumer(ctx, jetstream.ConsumerConfig{AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.DeleteConsumer(context.Background(), cons.CachedInfo().Name) }()
	batch, err := cons.Fetch(int(info.State.Msgs), jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var out []stored
	for m := range batch.Messages() {
		env := &ingestv1.EventEnvelope{}
		if err := proto.Unmarshal(m.Data(), env); err != nil {
			t.Fatal(err)
		}
		out = append(out, stored{m.Subject(), m.Headers().Get(jetstream.MsgIDHeader), env})
	}
	return out
}

func TestIngestBatchIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("needs NATS at 127.0.0.1:4222")
	}
	h := start(t, "nats://127.0.0.1:4222", true)
	bad := span("e-bad", 0)
	bad.Observation.TraceId = ""
	req := &ingestv1.IngestBatchRequest{Batch: []*ingestv1.IngestEvent{span("e-1", 0), bad, span("e-1", 0), span("", 0), span("e-2", 0)}}

	resp, err := h.client.IngestBatch(as("sk-a"), req)
	if err != nil {
		t.Fatalf("IngestBatch: %v", err)
	}
	if resp.GetAccepted() != 2 || resp.GetRejected() != 3 || len(resp.GetResults()) != 5 {
		t.Fatalf("response = %v", resp)
	}
	want := []struct {
		id       string
		accepted bool
		field    string
	}{{"e-1", true, ""}, {"e-bad", false, "observation.trace_id"}, {"e-1", false, "id"}, {"#3", false, "id"}, {"e-2", true, ""}}
	for i, w := range want {
		r := resp.GetResults()[i]
		if r.GetId() != w.id || r.GetIndex() != int32(i) || r.GetAccepted() != w.accepted || r.GetField() != w.field {
			t.Errorf("result %d = %v, want %+v", i, r, w)
		}
		if !w.accepted && r.GetError() == "" {
			t.Errorf("result %d rejected without an error message", i)
		}
	}

	msgs := h.messages(t)
	if len(msgs) != 1 {
		t.Fatalf("stream holds %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.subject != h.cfg.EventSubject("proj-a") || m.env.GetProjectId() != "proj-a" {
		t.Errorf("published on %q for project %q, want the caller's project proj-a", m.subject, m.env.GetProjectId())
	}
	if m.msgID != stream.MessageID("proj-a", []string{"e-1", "e-2"}) {
		t.Errorf("Nats-Msg-Id = %q", m.msgID)
	}
	if len(m.env.GetEvents()) != 2 || m.env.Events[0].GetId() != "e-1" || m.env.Events[1].GetId() != "e-2" {
		t.Fatalf("envelope events = %v", m.env.GetEvents())
	}
	for _, ev := range m.env.GetEvents() {
		if !proto.Equal(ev.GetTimestamp(), m.env.GetReceivedAt()) {
			t.Errorf("event %s timestamp %v, want received_at %v", ev.GetId(), ev.GetTimestamp(), m.env.GetReceivedAt())
		}
	}

	// The same batch retried: accepted again, stored once.
	if _, err := h.client.IngestBatch(as("sk-a"), req); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if n := len(h.messages(t)); n != 1 {
		t.Errorf("after a retry the stream holds %d messages, want 1", n)
	}

	// All rejected: still OK, nothing published.
	resp, err = h.client.IngestBatch(as("sk-b"), &ingestv1.IngestBatchRequest{Batch: []*ingestv1.IngestEvent{bad}})
	if err != nil || resp.GetAccepted() != 0 || resp.GetRejected() != 1 {
		t.Fatalf("all-rejected batch = %v, %v", resp, err)
	}
	if n := len(h.messages(t)); n != 1 {
		t.Errorf("an all-rejected batch published something: %d messages", n)
	}
}

func TestIngestBatchSplitsLargeBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("needs NATS at 127.0.0.1:4222")
	}
	h := start(t, "nats://127.0.0.1:4222", true)
	var batch []*ingestv1.IngestEvent
	for i := range 30 {
		batch = append(batch, span(fmt.Sprintf("big-%02d", i), 100<<10))
	}
	resp, err := h.client.IngestBatch(as("sk-b"), &ingestv1.IngestBatchRequest{Batch: batch})
	if err != nil {
		t.Fatalf("IngestBatch: %v", err)
	}
	if resp.GetAccepted() != 30 {
		t.Fatalf("accepted %d of 30", resp.GetAccepted())
	}
	msgs := h.messages(t)
	if len(msgs) < 3 {
		t.Fatalf("%d messages, want the ~3 MiB batch split in at least 3", len(msgs))
	}
	n := 0
	for _, m := range msgs {
		var ids []string
		for _, ev := range m.env.GetEvents() {
			if ev.GetId() != fmt.Sprintf("big-%02d", n) {
				t.Fatalf("event %d is %q: events out of order or lost", n, ev.GetId())
			}
			ids = append(ids, ev.GetId())
			n++
		}
		if m.msgID != stream.MessageID("proj-b", ids) {
			t.Errorf("msg id %q is not the id of its own events", m.msgID)
		}
	}
	if n != 30 {
		t.Errorf("messages hold %d events, want 30", n)
	}
}

func TestIngestBatchErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("needs NATS at 127.0.0.1:4222")
	}
	h := start(t, "nats://127.0.0.1:4222", true)
	tooMany := make([]*ingestv1.IngestEvent, 1001)
	for i := range tooMany {
		tooMany[i] = span(fmt.Sprint(i), 0)
	}
	tests := []struct {
		name      string
		ctx       context.Context
		batch     []*ingestv1.IngestEvent
		code      codes.Code
		violation string
	}{
		{"no credentials", context.Background(), []*ingestv1.IngestEvent{span("a", 0)}, codes.Unauthenticated, ""},
		{"unknown key", as("sk-nope"), []*ingestv1.IngestEvent{span("a", 0)}, codes.Unauthenticated, ""},
		{"empty batch", as("sk-a"), nil, codes.InvalidArgument, "batch"},
		{"batch too long", as("sk-a"), tooMany, codes.InvalidArgument, "batch"},
		{"request too large", as("sk-a"), []*ingestv1.IngestEvent{span("a", maxRequestBytes)}, codes.ResourceExhausted, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.client.IngestBatch(tt.ctx, &ingestv1.IngestBatchRequest{Batch: tt.batch})
			st := status.Convert(err)
			if st.Code() != tt.code {
				t.Fatalf("code = %v (%s), want %v", st.Code(), st.Message(), tt.code)
			}
			if tt.violation == "" {
				return
			}
			var fields []string
			for _, d := range st.Details() {
				if br, ok := d.(*errdetails.BadRequest); ok {
					for _, v := range br.GetFieldViolations() {
						fields = append(fields, v.GetField())
					}
				}
			}
			if len(fields) != 1 || fields[0] != tt.violation {
				t.Errorf("field violations = %v, want [%s]", fields, tt.violation)
			}
		})
	}
	if n := len(h.messages(t)); n != 0 {
		t.Errorf("failed calls published %d messages", n)
	}
}

func TestIngestBatchNATSDown(t *testing.T) {
	h := start(t, "nats://127.0.0.1:1", false) // nothing listens there
	start := time.Now()
	resp, err := h.client.IngestBatch(as("sk-a"), &ingestv1.IngestBatchRequest{Batch: []*ingestv1.IngestEvent{span("a", 0), span("b", 0)}})
	st := status.Convert(err)
	if st.Code() != codes.Unavailable || st.Message() != "event stream unavailable, retry" {
		t.Fatalf("IngestBatch = %v, %v; want Unavailable", resp, err)
	}
	if resp != nil {
		t.Errorf("a failed call returned results: %v", resp)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v, want a prompt failure", d)
	}
	var retry *errdetails.RetryInfo
	for _, d := range st.Details() {
		if r, ok := d.(*errdetails.RetryInfo); ok {
			retry = r
		}
	}
	if retry.GetRetryDelay().AsDuration() <= 0 {
		t.Errorf("no RetryInfo in %v", st.Details())
	}
}

func TestIngestBatchStreamMissing(t *testing.T) {
	if testing.Short() {
		t.Skip("needs NATS at 127.0.0.1:4222")
	}
	// Connected, but the streams were never declared: nobody acknowledges.
	h := start(t, "nats://127.0.0.1:4222", false)
	_, err := h.client.IngestBatch(as("sk-a"), &ingestv1.IngestBatchRequest{Batch: []*ingestv1.IngestEvent{span("a", 0)}})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("IngestBatch = %v, want Unavailable", err)
	}
}

// A handler reached without a caller (a wiring bug) answers as every
// service does (apierror.Status): Unauthenticated, never a read or write.
func TestMissingPrincipalIsUnauthenticated(t *testing.T) {
	s := NewServer(ingestion.NewService(ingestion.Config{MaxBatch: 1}), slog.New(slog.DiscardHandler))
	if _, err := s.IngestBatch(context.Background(), &ingestv1.IngestBatchRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("IngestBatch without a principal = %v, want Unauthenticated", err)
	}
	if _, err := s.DeleteTrace(context.Background(), &ingestv1.DeleteTraceRequest{TraceId: "t"}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("DeleteTrace without a principal = %v, want Unauthenticated", err)
	}
}

func TestUnknownErrorIsInternal(t *testing.T) {
	s := NewServer(nil, slog.New(slog.DiscardHandler))
	err := s.toStatus(context.Background(), fmt.Errorf("boom: secret detail"))
	st := status.Convert(err)
	if st.Code() != codes.Internal || strings.Contains(st.Message(), "secret") {
		t.Errorf("toStatus(unknown) = %v, want Internal without detail", err)
	}
	if got := status.Code(s.toStatus(context.Background(), context.DeadlineExceeded)); got != codes.DeadlineExceeded {
		t.Errorf("toStatus(deadline) = %v", got)
	}
}
