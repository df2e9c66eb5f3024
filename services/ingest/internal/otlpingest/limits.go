// Package otlpingest is ingest's domain for OpenTelemetry traces received
// over OTLP: it checks every span of an export request on its own, keeps the
// valid ones (with their resource and scope) in one request, publishes that
// request durably and reports the rejected spans, as OTLP's partial success
// wants. The mapping of spans to traces and observations happens later, in
// the worker; here a span is only checked to be storable and identifiable.
//
// A span is rejected when
//   - trace_id is not 16 bytes or is all zero; span_id is not 8 bytes or is
//     all zero; parent_span_id is neither empty nor a valid span id (an
//     all-zero parent, which some exporters send for roots, is cleared);
//   - start_time_unix_nano is unset, or end_time_unix_nano is set and
//     before it;
//   - a link's trace_id or span_id is not a valid id;
//   - the span or an event name is longer than MaxNameBytes;
//   - it, one of its events or links, its resource or its scope has more
//     than MaxAttributes attributes, an empty attribute key or one longer
//     than MaxAttributeKeyBytes, or a value nested deeper than MaxValueDepth;
//   - it has more than MaxEvents events or MaxLinks links;
//   - it encodes, with its resource and scope, to more than MaxSpanBytes, so
//     it could not be published in one stream message.
//
// A resource or scope at fault rejects every span under it.
package otlpingest

// Limits bounds the parts of a span. Lengths are in bytes.
type Limits struct {
	// MaxNameBytes bounds span, event and scope names.
	MaxNameBytes int
	// MaxAttributes bounds the attributes of a span, event, link, resource
	// or scope, and the entries of one key-value list value.
	MaxAttributes int
	// MaxAttributeKeyBytes bounds an attribute key.
	MaxAttributeKeyBytes int
	// MaxEvents and MaxLinks bound a span's events and links.
	MaxEvents int
	MaxLinks  int
	// MaxValueDepth bounds the nesting of array and key-value list values.
	MaxValueDepth int
	// MaxSpanBytes bounds a span encoded with its resource and scope. It
	// must stay below the NATS server's max_payload minus a little envelope
	// and header overhead, or the span could never be published.
	MaxSpanBytes int
}

// Default limits. The attribute and event counts are far above the OTel
// SDKs' defaults (128), as LLM instrumentations flatten whole conversations
// into attributes; the byte bound is what really limits a span.
const (
	DefaultMaxNameBytes         = 1024
	DefaultMaxAttributes        = 1024
	DefaultMaxAttributeKeyBytes = 256
	DefaultMaxEvents            = 1024
	DefaultMaxLinks             = 1024
	DefaultMaxValueDepth        = 32
	// DefaultMaxSpanBytes matches ingest's native event limit, leaving
	// 64 KiB of NATS's default 1 MiB max_payload for envelope and headers.
	DefaultMaxSpanBytes = 960 << 10
)

// DefaultLimits returns the limits ingest applies unless configured otherwise.
func DefaultLimits() Limits {
	return Limits{
		MaxNameBytes:         DefaultMaxNameBytes,
		MaxAttributes:        DefaultMaxAttributes,
		MaxAttributeKeyBytes: DefaultMaxAttributeKeyBytes,
		MaxEvents:            DefaultMaxEvents,
		MaxLinks:             DefaultMaxLinks,
		MaxValueDepth:        DefaultMaxValueDepth,
		MaxSpanBytes:         DefaultMaxSpanBytes,
	}
}
