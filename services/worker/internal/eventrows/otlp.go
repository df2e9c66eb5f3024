package eventrows

import (
	"fmt"

	collectortracev1 "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	"github.com/agenttrace/agenttrace/pkg/otlpmap"
)

// ExpandOTLP replaces the OTLP export request an envelope from ingest's
// OTLP receiver carries with the events otlpmap maps it to, so everything
// after decoding sees native events only. An envelope without one is left
// as it is. Events from a request are deterministic (ids included): a
// redelivered or re-exported span yields the same rows.
func ExpandOTLP(env *ingestv1.EventEnvelope) error {
	raw := env.GetOtlpExportRequest()
	if len(raw) == 0 {
		return nil
	}
	if len(env.GetEvents()) > 0 {
		return fmt.Errorf("%w: envelope carries both events and an OTLP export request", ErrUndecodable)
	}
	var req collectortracev1.ExportTraceServiceRequest
	if err := proto.Unmarshal(raw, &req); err != nil {
		return fmt.Errorf("%w: otlp_export_request: %w", ErrUndecodable, err)
	}
	events, err := otlpmap.Map(&req)
	if err != nil {
		return fmt.Errorf("%w: otlp_export_request: %w", ErrUndecodable, err)
	}
	env.Events, env.OtlpExportRequest = events, nil
	return nil
}
