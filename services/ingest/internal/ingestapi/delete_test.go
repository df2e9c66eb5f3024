package ingestapi

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/agenttrace/agenttrace/pkg/config"
	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	"github.com/agenttrace/agenttrace/pkg/grpctest"
	"github.com/agenttrace/agenttrace/pkg/jwtkeys"
	"github.com/agenttrace/agenttrace/services/ingest/internal/auditclient"
)

const jwtSecret = "ingest-test-secret-0123456789abcdef"

// fakeAudit is auth's audit log: it accepts only calls carrying a service
// token that verifies with ring, and keeps what it recorded.
type fakeAudit struct {
	authv1.UnimplementedAuditServiceServer
	ring *jwtkeys.Ring
	// fail, when set, is returned instead of recording.
	fail error

	mu       sync.Mutex
	events   []*authv1.AuditEvent
	services []string
}

func (f *fakeAudit) RecordAuditEvent(ctx context.Context, req *authv1.RecordAuditEventRequest) (*authv1.RecordAuditEventResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	auth := md.Get("authorization")
	if len(auth) != 1 || !strings.HasPrefix(auth[0], "Bearer ") {
		return nil, status.Error(codes.Unauthenticated, "no service token")
	}
	svc, err := f.ring.VerifyServiceToken(strings.TrimPrefix(auth[0], "Bearer "))
	if err != nil {
		return nil, status.Error(codes.Unauthenticated, "bad service token")
	}
	if f.fail != nil {
		return nil, f.fail
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, req.GetEvent())
	f.services = append(f.services, svc)
	return &authv1.RecordAuditEventResponse{Event: req.GetEvent()}, nil
}

func (f *fakeAudit) recorded() ([]*authv1.AuditEvent, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*authv1.AuditEvent(nil), f.events...), append([]string(nil), f.services...)
}

func testRing(t *testing.T) *jwtkeys.Ring {
	t.Helper()
	r, err := jwtkeys.NewRing(jwtkeys.Config{Secret: config.Secret(jwtSecret)})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// startAudit serves f and returns an auditor that reaches it the way ingest
// does in production (auditclient over gRPC with service credentials). With
// down, the address answers nothing.
func startAudit(t *testing.T, f *fakeAudit, down bool) *auditclient.Client {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	if down {
		lis.Close()
	} else {
		srv := grpc.NewServer()
		authv1.RegisterAuditServiceServer(srv, f)
		grpctest.Serve(t, srv, lis)
	}
	conn, err := auditclient.Dial(addr, testRing(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return auditclient.New(authv1.NewAuditServiceClient(conn), 2*time.Second)
}

func fromGateway(secret string) context.Context {
	return metadata.AppendToOutgoingContext(as(secret),
		"x-forwarded-for", "203.0.113.7, 10.0.0.1", "grpcgateway-user-agent", "sdk/1.0")
}

func TestDeleteTraceIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("needs NATS at 127.0.0.1:4222")
	}
	audit := &fakeAudit{ring: testRing(t)}
	h := startWith(t, "nats://127.0.0.1:4222", true, startAudit(t, audit, false))

	before := time.Now()
	if _, err := h.client.DeleteTrace(fromGateway("sk-a"), &ingestv1.DeleteTraceRequest{TraceId: "trace-1"}); err != nil {
		t.Fatalf("DeleteTrace: %v", err)
	}

	events, services := audit.recorded()
	if len(events) != 1 {
		t.Fatalf("%d audit events, want 1", len(events))
	}
	want := &authv1.AuditEvent{
		OrganizationId: "org-proj-a", ProjectId: "proj-a",
		ActorKind: "api_key", ActorId: "key-proj-a", ActorLabel: "pk-proj-a",
		Action: "trace.delete", TargetKind: "trace", TargetId: "trace-1",
		ClientIp: "203.0.113.7", UserAgent: "sdk/1.0",
	}
	if !proto.Equal(events[0], want) {
		t.Errorf("audit event = %v\nwant %v", events[0], want)
	}
	if services[0] != auditclient.ServiceName {
		t.Errorf("audit call authenticated as %q, want %q", services[0], auditclient.ServiceName)
	}

	msgs := h.messages(t)
	if len(msgs) != 1 {
		t.Fatalf("stream holds %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.subject != h.cfg.EventSubject("proj-a") || m.env.GetProjectId() != "proj-a" {
		t.Errorf("published on %q for %q, want the caller's project", m.subject, m.env.GetProjectId())
	}
	if len(m.env.GetEvents()) != 1 {
		t.Fatalf("envelope holds %d events, want 1", len(m.env.GetEvents()))
	}
	ev := m.env.GetEvents()[0]
	if ev.GetType() != ingestv1.EventType_EVENT_TYPE_TRACE_DELETE || !proto.Equal(ev.GetTrace(), &ingestv1.TraceBody{Id: "trace-1"}) ||
		ev.GetObservation() != nil || ev.GetScore() != nil {
		t.Errorf("event = %v, want a TRACE_DELETE with only trace.id", ev)
	}
	if !strings.HasPrefix(ev.GetId(), "delete:trace-1:") {
		t.Errorf("event id = %q", ev.GetId())
	}
	if ts := ev.GetTimestamp().AsTime(); ts.Before(before.Add(-time.Second)) || ts.After(time.Now()) {
		t.Errorf("event timestamp %v is not the time of the call", ts)
	}

	// A second deletion of the same trace is a new message, not a duplicate.
	if _, err := h.client.DeleteTrace(as("sk-a"), &ingestv1.DeleteTraceRequest{TraceId: "trace-1"}); err != nil {
		t.Fatalf("second DeleteTrace: %v", err)
	}
	if n := len(h.messages(t)); n != 2 {
		t.Errorf("after a second deletion the stream holds %d messages, want 2", n)
	}
	if events, _ := audit.recorded(); len(events) != 2 || events[1].GetClientIp() != "127.0.0.1" {
		t.Errorf("second audit event = %v, want the peer address without x-forwarded-for", events[len(events)-1])
	}
}

func TestDeleteTraceErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("needs NATS at 127.0.0.1:4222")
	}
	tests := []struct {
		name      string
		natsURL   string
		auditDown bool
		auditFail error
		disabled  bool
		traceID   string
		code      codes.Code
		violation string
		audited   bool
	}{
		{name: "empty trace id", traceID: "", code: codes.InvalidArgument, violation: "trace_id"},
		{name: "trace id with control char", traceID: "a\x00b", code: codes.InvalidArgument, violation: "trace_id"},
		{name: "trace id too long", traceID: strings.Repeat("x", 257), code: codes.InvalidArgument, violation: "trace_id"},
		{name: "auth down", auditDown: true, traceID: "t", code: codes.Unavailable},
		{name: "audit refused", auditFail: status.Error(codes.PermissionDenied, "no"), traceID: "t", code: codes.Unavailable},
		{name: "no jwt secret", disabled: true, traceID: "t", code: codes.Unimplemented},
		// The audit record is written, then publishing fails: Unavailable,
		// and nothing is deleted.
		{name: "nats down", natsURL: "nats://127.0.0.1:1", traceID: "t", code: codes.Unavailable, audited: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			audit := &fakeAudit{ring: testRing(t), fail: tt.auditFail}
			var h *harness
			natsURL, declare := "nats://127.0.0.1:4222", true
			if tt.natsURL != "" {
				natsURL, declare = tt.natsURL, false
			}
			if tt.disabled {
				h = startWith(t, natsURL, declare, nil)
			} else {
				h = startWith(t, natsURL, declare, startAudit(t, audit, tt.auditDown))
			}
			_, err := h.client.DeleteTrace(as("sk-b"), &ingestv1.DeleteTraceRequest{TraceId: tt.traceID})
			st := status.Convert(err)
			if st.Code() != tt.code {
				t.Fatalf("DeleteTrace = %v, want %v", err, tt.code)
			}
			if tt.violation != "" {
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
			}
			if events, _ := audit.recorded(); (len(events) > 0) != tt.audited {
				t.Errorf("%d audit events recorded, want audited=%v", len(events), tt.audited)
			}
			if declare {
				if n := len(h.messages(t)); n != 0 {
					t.Errorf("a failed deletion published %d messages", n)
				}
			}
		})
	}
}

func TestIngestBatchRejectsTraceDelete(t *testing.T) {
	if testing.Short() {
		t.Skip("needs NATS at 127.0.0.1:4222")
	}
	audit := &fakeAudit{ring: testRing(t)}
	h := startWith(t, "nats://127.0.0.1:4222", true, startAudit(t, audit, false))
	resp, err := h.client.IngestBatch(as("sk-a"), &ingestv1.IngestBatchRequest{Batch: []*ingestv1.IngestEvent{
		{Id: "d1", Type: ingestv1.EventType_EVENT_TYPE_TRACE_DELETE, Trace: &ingestv1.TraceBody{Id: "trace-1"}},
	}})
	if err != nil {
		t.Fatalf("IngestBatch: %v", err)
	}
	if resp.GetAccepted() != 0 || resp.GetResults()[0].GetField() != "type" || !strings.Contains(resp.GetResults()[0].GetError(), "DeleteTrace") {
		t.Errorf("response = %v, want the delete event rejected on type", resp)
	}
	if n := len(h.messages(t)); n != 0 {
		t.Errorf("a client TRACE_DELETE was published (%d messages)", n)
	}
	if events, _ := audit.recorded(); len(events) != 0 {
		t.Errorf("a rejected event was audited: %v", events)
	}
}
