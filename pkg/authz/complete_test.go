package authz

import (
	"strings"
	"testing"

	"google.golang.org/grpc"
	healthv1 "google.golang.org/grpc/health/grpc_health_v1"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	// The table imports the generated packages, which registers their
	// files; this test walks every registered agenttrace service, so a
	// service added to a package the table does not import yet is caught
	// by the descriptor list below.
	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
	otlpcollectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
)

// served are the grpc.ServiceDesc of every service an AgentTrace server
// registers.
var served = []grpc.ServiceDesc{
	ingestv1.IngestService_ServiceDesc,
	queryv1.QueryService_ServiceDesc,
	authv1.AuthService_ServiceDesc,
	authv1.IdentityService_ServiceDesc,
	authv1.OrganizationService_ServiceDesc,
	authv1.SettingsService_ServiceDesc,
	authv1.AuditService_ServiceDesc,
	authv1.PricingService_ServiceDesc,
	otlpcollectortrace.TraceService_ServiceDesc,
	healthv1.Health_ServiceDesc,
	reflectionv1.ServerReflection_ServiceDesc,
	reflectionv1alpha.ServerReflection_ServiceDesc,
}

func descMethods(d grpc.ServiceDesc) []string {
	var out []string
	for _, m := range d.Methods {
		out = append(out, "/"+d.ServiceName+"/"+m.MethodName)
	}
	for _, s := range d.Streams {
		out = append(out, "/"+d.ServiceName+"/"+s.StreamName)
	}
	return out
}

// TestTableIsComplete fails when a served method has no rule, and when a rule
// names a method nobody serves (a renamed RPC would leave one behind).
func TestTableIsComplete(t *testing.T) {
	servedMethods := map[string]bool{}
	for _, d := range served {
		for _, m := range descMethods(d) {
			servedMethods[m] = true
			if _, ok := Lookup(m); !ok {
				t.Errorf("%s has no rule in the permission table", m)
			}
		}
	}
	for m := range Table() {
		if !servedMethods[m] {
			t.Errorf("the permission table has a rule for %s, which no service serves", m)
		}
	}
}

// TestEveryAgentTraceServiceIsServed walks the proto registry, so that a new
// service in any agenttrace package must be added to served (and so to the
// table) before this test passes.
func TestEveryAgentTraceServiceIsServed(t *testing.T) {
	known := map[string]bool{}
	for _, d := range served {
		known[d.ServiceName] = true
	}
	n := 0
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if !strings.HasPrefix(string(fd.Package()), "agenttrace.") {
			return true
		}
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			n++
			if !known[string(sd.FullName())] {
				t.Errorf("service %s is registered but not in the served list", sd.FullName())
				continue
			}
			for j := range sd.Methods().Len() {
				m := "/" + string(sd.FullName()) + "/" + string(sd.Methods().Get(j).Name())
				if _, ok := Lookup(m); !ok {
					t.Errorf("%s has no rule in the permission table", m)
				}
			}
		}
		return true
	})
	if n < 7 {
		t.Fatalf("found %d agenttrace services in the registry, want at least 7", n)
	}
}
