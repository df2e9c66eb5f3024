package publisher

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	"github.com/agenttrace/agenttrace/pkg/stream"
	"github.com/agenttrace/agenttrace/services/ingest/internal/otlpingest"
)

// spanIDSuffixLen is the length of a span's id in a message id:
// "<trace id hex>:<span id hex>".
const spanIDSuffixLen = 32 + 1 + 16

// PublishExport publishes the spans of one OTLP export as EventEnvelopes
// carrying the serialized request (otlp_export_request): the bytes it
// arrived in when it has them and they fit in the server's max_payload,
// else as few self-contained ExportTraceServiceRequests as the spans need,
// each span keeping its resource and scope. A message's id is
// stream.MessageID of its spans' keys (otlpingest.SpanRef), so a re-sent
// export is deduplicated. Like Publish it returns once every message is acknowledged;
// any error means nothing counts as stored.
//
// The spans must carry valid ids (the caller validated them); a span that
// cannot fit in a message even alone with its resource and scope fails the
// call with ErrEventTooLarge.
func (p *Publisher) PublishExport(ctx context.Context, projectID string, receivedAt *timestamppb.Timestamp, exp otlpingest.Export) error {
	// Checked first: the server's max_payload is unknown while disconnected.
	if !p.nc.IsConnected() {
		return ErrNotConnected
	}
	base := &ingestv1.EventEnvelope{ProjectId: projectID, ReceivedAt: receivedAt}
	parts, err := splitExport(exp, proto.Size(base), p.budgetFor(projectID, max(spanIDSuffixLen, len(batchIDSuffix))))
	if err != nil {
		return err
	}
	msgs := make([]outgoing, 0, len(parts))
	for _, part := range parts {
		payload := part.raw
		if payload == nil {
			if payload, err = proto.Marshal(part.req); err != nil {
				return fmt.Errorf("encode export request: %w", err)
			}
		}
		env := &ingestv1.EventEnvelope{ProjectId: projectID, ReceivedAt: receivedAt, OtlpExportRequest: payload}
		data, err := proto.Marshal(env)
		if err != nil {
			return fmt.Errorf("encode envelope: %w", err)
		}
		msgs = append(msgs, outgoing{data: data, msgID: messageID(projectID, part.spans)})
	}
	if len(msgs) == 0 {
		return nil
	}
	return p.send(ctx, projectID, msgs)
}

// messageID is stream.MessageID of the spans' keys, computed without
// making each key a string.
func messageID(projectID string, spans []otlpingest.SpanRef) string {
	if len(spans) == 1 {
		return stream.MessageID(projectID, []string{spans[0].Key()})
	}
	sorted := slices.Clone(spans)
	slices.SortFunc(sorted, func(a, b otlpingest.SpanRef) int { return bytes.Compare(a[:], b[:]) })
	d := stream.NewBatchDigest(projectID)
	var key []byte
	for _, r := range sorted {
		key = r.AppendKey(key[:0])
		d.Add(key)
	}
	return d.MessageID()
}

// exportPart is the request of one message, as a request to encode (req)
// or as its encoding already (raw), and its spans.
type exportPart struct {
	req   *coltracepb.ExportTraceServiceRequest
	raw   []byte
	spans []otlpingest.SpanRef
}

// spansOf lists req's spans in request order.
func spansOf(req *coltracepb.ExportTraceServiceRequest) []otlpingest.SpanRef {
	var spans []otlpingest.SpanRef
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				spans = append(spans, otlpingest.RefOf(s))
			}
		}
	}
	return spans
}

// maxLenPrefix is the longest length varint of a message below 4 GiB; the
// split counts it for every resource and scope group, whose final encoded
// size is not known while spans are still being added.
const maxLenPrefix = 5

// splitExport cuts the export into requests whose envelope (base bytes
// without the payload field) encodes to at most budget bytes, keeping the
// order of the spans and copying each span's resource and scope into every
// part that holds some of its spans. An export that fits whole is one part,
// carrying its bytes as received when it has them.
func splitExport(exp otlpingest.Export, base, budget int) ([]exportPart, error) {
	// The payload field of the envelope: a one-byte tag and the length.
	base += 1 + maxLenPrefix
	fitsRaw := exp.Raw != nil && base+len(exp.Raw) <= budget
	var req *coltracepb.ExportTraceServiceRequest
	if !fitsRaw || exp.Spans == nil {
		var err error
		if req, err = exp.Request(); err != nil {
			return nil, err
		}
	}
	if fitsRaw || base+proto.Size(req) <= budget {
		whole := exportPart{req: req, spans: exp.Spans}
		if fitsRaw {
			whole.raw = exp.Raw
		}
		if whole.spans == nil {
			whole.spans = spansOf(req)
		}
		if len(whole.spans) == 0 {
			return nil, nil
		}
		return []exportPart{whole}, nil
	}

	var (
		parts []exportPart
		cur   exportPart
		size  int
		curRS *tracepb.ResourceSpans // the current part's copy of the group
		curSS *tracepb.ScopeSpans
	)
	flush := func() {
		if len(cur.spans) > 0 {
			parts = append(parts, cur)
		}
		cur, size, curRS, curSS = exportPart{req: &coltracepb.ExportTraceServiceRequest{}}, base, nil, nil
	}
	flush()
	for _, rs := range req.GetResourceSpans() {
		rsHead := 1 + maxLenPrefix + messageField(rs.GetResource()) + stringField(rs.GetSchemaUrl())
		for _, ss := range rs.GetScopeSpans() {
			ssHead := 1 + maxLenPrefix + messageField(ss.GetScope()) + stringField(ss.GetSchemaUrl())
			curSS = nil // a new scope group starts in the current part
			for _, s := range ss.GetSpans() {
				n := proto.Size(s)
				spanBytes := 1 + protowire.SizeVarint(uint64(n)) + n
				need := spanBytes
				if curRS == nil {
					need += rsHead
				}
				if curSS == nil {
					need += ssHead
				}
				if size+need > budget && len(cur.spans) > 0 {
					flush()
					need = rsHead + ssHead + spanBytes
				}
				if base+rsHead+ssHead+spanBytes > budget {
					return nil, fmt.Errorf("%w: span %s encodes to %d bytes with its resource and scope, the server accepts %d per message",
						ErrEventTooLarge, otlpingest.RefOf(s).Key(), rsHead+ssHead+spanBytes, budget-base)
				}
				if curRS == nil {
					curRS = &tracepb.ResourceSpans{Resource: rs.GetResource(), SchemaUrl: rs.GetSchemaUrl()}
					cur.req.ResourceSpans = append(cur.req.ResourceSpans, curRS)
				}
				if curSS == nil {
					curSS = &tracepb.ScopeSpans{Scope: ss.GetScope(), SchemaUrl: ss.GetSchemaUrl()}
					curRS.ScopeSpans = append(curRS.ScopeSpans, curSS)
				}
				curSS.Spans = append(curSS.Spans, s)
				cur.spans = append(cur.spans, otlpingest.RefOf(s))
				size += need
			}
		}
		curRS, curSS = nil, nil // a new resource group starts in the current part
	}
	flush()
	return parts, nil
}

// messageField is the encoded size of a set message field (tag, length,
// body), 0 when unset.
func messageField(m proto.Message) int {
	if m == nil || !m.ProtoReflect().IsValid() {
		return 0
	}
	n := proto.Size(m)
	return 1 + protowire.SizeVarint(uint64(n)) + n
}

// stringField is the encoded size of a set string field.
func stringField(s string) int {
	if s == "" {
		return 0
	}
	return 1 + protowire.SizeVarint(uint64(len(s))) + len(s)
}
