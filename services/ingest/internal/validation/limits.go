// Package validation checks ingestion events, one at a time and without side
// effects, against the rules of the ingestion contract. A rejected event is
// described by the field at fault (a proto-name path relative to the event,
// such as "observation.trace_id") and a message an SDK author can act on.
//
// Beyond the semantic rules, validation guarantees that an accepted event can
// be published and stored: every string is valid UTF-8 (proto refuses to
// marshal anything else), every google.protobuf.Value can be rendered as JSON
// (no NaN, no unset kind, bounded depth), and the encoded event fits in one
// stream message.
package validation

// Limits bounds the sizes of an event's parts. Lengths are in bytes.
type Limits struct {
	// MaxIDBytes bounds ids and id-like fields: event, trace, observation,
	// score, session, user and parent ids.
	MaxIDBytes int
	// MaxNameBytes bounds short labels: names, model, release, version,
	// environment, tags, a categorical score value and map keys.
	MaxNameBytes int
	// MaxTextBytes bounds free text: status_message, comment and map values.
	MaxTextBytes int
	// MaxTags bounds the tags of a trace.
	MaxTags int
	// MaxMapEntries bounds metadata, model_parameters and usage details.
	MaxMapEntries int
	// MaxValueDepth bounds the nesting of input and output JSON values.
	MaxValueDepth int
	// MaxEventBytes bounds the encoded event. It must stay below the NATS
	// server's max_payload minus a little envelope and header overhead, or
	// the event could never be published.
	MaxEventBytes int
}

// Default limits; DefaultLimits documents them in one place.
const (
	DefaultMaxIDBytes    = 256
	DefaultMaxNameBytes  = 1024
	DefaultMaxTextBytes  = 64 << 10
	DefaultMaxTags       = 100
	DefaultMaxMapEntries = 256
	DefaultMaxValueDepth = 64
	// DefaultMaxEventBytes leaves 64 KiB of NATS's default 1 MiB max_payload
	// for the envelope and headers.
	DefaultMaxEventBytes = 960 << 10
)

// DefaultLimits returns the limits ingest applies unless configured otherwise.
func DefaultLimits() Limits {
	return Limits{
		MaxIDBytes:    DefaultMaxIDBytes,
		MaxNameBytes:  DefaultMaxNameBytes,
		MaxTextBytes:  DefaultMaxTextBytes,
		MaxTags:       DefaultMaxTags,
		MaxMapEntries: DefaultMaxMapEntries,
		MaxValueDepth: DefaultMaxValueDepth,
		MaxEventBytes: DefaultMaxEventBytes,
	}
}
