package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
)

// TestIntrospection checks what operators and tools rely on, on every
// service: gRPC server reflection (grpcurl), gRPC health, and the admin
// endpoints /health, /ready and /metrics.
func TestIntrospection(t *testing.T) {
	s := requireStack(t)
	common := []string{"grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"}
	wantServices := map[string][]string{
		"gateway": common,
		"ingest":  append([]string{"agenttrace.ingest.v1.IngestService"}, common...),
		"query":   append([]string{"agenttrace.query.v1.QueryService"}, common...),
		"auth":    append([]string{"agenttrace.auth.v1.AuthService"}, common...),
		"worker":  common,
	}
	for _, name := range services {
		t.Run(name, func(t *testing.T) {
			a := s.addr[name]
			conn := dial(t, a.grpc)

			got := reflectServices(t, reflectionpb.NewServerReflectionClient(conn))
			for _, want := range wantServices[name] {
				if !slices.Contains(got, want) {
					t.Errorf("reflection on %s lists %v; %s missing", name, got, want)
				}
			}

			// The shell mirrors /ready into gRPC health periodically (every
			// 5 s), so a service whose first check ran before its backends
			// were up reports SERVING a little after /ready does.
			hc := healthpb.NewHealthClient(conn)
			deadline := time.Now().Add(healthLag)
			for {
				hr, err := hc.Check(t.Context(), &healthpb.HealthCheckRequest{})
				if err == nil && hr.GetStatus() == healthpb.HealthCheckResponse_SERVING {
					break
				}
				if time.Now().After(deadline) {
					t.Errorf("gRPC health of %s: want SERVING within %s of /ready, got %v, %v", name, healthLag, hr.GetStatus(), err)
					break
				}
				time.Sleep(200 * time.Millisecond)
			}

			checkAdmin(t, name, a.admin)
		})
	}
}

// healthLag bounds how long gRPC health may lag behind /ready.
const healthLag = 7 * time.Second

// reflectServices lists the services a server offers over reflection.
func reflectServices(t *testing.T, rc reflectionpb.ServerReflectionClient) []string {
	t.Helper()
	stream, err := rc.ServerReflectionInfo(t.Context())
	if err != nil {
		t.Fatalf("reflection: %v", err)
	}
	req := &reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{ListServices: "*"},
	}
	if err := stream.Send(req); err != nil {
		t.Fatalf("reflection send: %v", err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatalf("reflection recv: %v", err)
	}
	_ = stream.CloseSend()
	var names []string
	for _, svc := range resp.GetListServicesResponse().GetService() {
		names = append(names, svc.GetName())
	}
	return names
}

func checkAdmin(t *testing.T, name, addr string) {
	t.Helper()
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatalf("%s %s: %v", name, path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	for _, path := range []string{"/health", "/ready"} {
		code, body := get(path)
		var doc struct {
			Status  string `json:"status"`
			Service string `json:"service"`
		}
		if code != http.StatusOK || json.Unmarshal([]byte(body), &doc) != nil || doc.Service != name {
			t.Errorf("%s %s: want 200 with a JSON status naming the service, got %d %s", name, path, code, body)
		}
	}
	code, body := get("/metrics")
	if code != http.StatusOK || !strings.Contains(body, "grpc_server_handled_total") {
		t.Errorf("%s /metrics: want 200 with grpc_server_handled_total, got %d (%d bytes)", name, code, len(body))
	}
}
