package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// jaegerConfig runs Jaeger v2 as its all-in-one does by default (OTLP
// receiver, batch processor, memory store of 100,000 traces), with only the
// OTLP/gRPC receiver, on ports of the benchmark's choosing, and without
// its own telemetry.
const jaegerConfig = `
service:
  extensions: [jaeger_storage]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 100000
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:%d
processors:
  batch:
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`

// benchJaeger sends the shape's load to Jaeger, started for it alone (the
// stack is idle meanwhile: AgentTrace's load of the shape comes after), and
// records what Jaeger accepted.
func benchJaeger(b *testing.B, template *coltracepb.ExportTraceServiceRequest, r *throughput) {
	port := freePort(b)
	dir := b.TempDir()
	cfg := filepath.Join(dir, "jaeger.yaml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, jaegerConfig, port), 0o600); err != nil {
		b.Fatal(err)
	}
	logs, err := os.Create(filepath.Join(dir, "jaeger.log"))
	if err != nil {
		b.Fatal(err)
	}
	defer logs.Close()
	cmd := exec.Command(*otlpBenchJaeger, "--config", cfg)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		b.Fatalf("start %s: %v", *otlpBenchJaeger, err)
	}
	defer func() {
		// Its exit status after SIGTERM or SIGKILL says nothing.
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}()

	client := exporter(b, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	// Ready once it accepts an export.
	ready := proto.CloneOf(template)
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(b.Context(), 2*time.Second)
		_, err := client.Export(ctx, ready)
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logs.Name())
			b.Fatalf("jaeger did not accept an export within a minute: %v\n%s", err, log)
		}
		time.Sleep(200 * time.Millisecond)
	}
	var accepted atomic.Int64
	r.jaeger = sendLoad(b, b.Context(), client, template, r.shape, &accepted)
	b.ReportMetric(r.jaeger.acceptedPerSec(), "accepted_spans/s")
}

// freePort is a TCP port nothing listens on now.
func freePort(b *testing.B) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
