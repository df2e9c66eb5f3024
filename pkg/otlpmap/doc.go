// Package otlpmap is the one normalising layer between OpenTelemetry and
// the AgentTrace model: it turns the spans of an OTLP export request into
// the ingestion events (ingestv1.IngestEvent) the native API would have
// produced, so OTLP traces are stored, merged and queried like native ones.
// docs/otel-mapping.md holds the full attribute table; the rules are:
//
// Ids. The trace id is the 32-char lowercase hex of the OTLP trace id, an
// observation id the 16-char hex of the span id, the parent the hex of the
// parent span id (none for roots; an all-zero parent counts as none). A
// span event's observation is "<span id>-<index of the event in the span>".
// Event ids are deterministic ("otlp:<trace>:<observation>" and, for trace
// events, "otlp:<trace>:trace:<content hash>"), so a span sent twice yields
// identical rows that merge to one object.
//
// Observations. Every span becomes one OBSERVATION_CREATE event versioned at
// its end time: name, start and end (nanoseconds kept), type, level, model,
// parameters, usage, cost, input, output, metadata. The type comes from
// agenttrace.observation.type, else langfuse.observation.type (Langfuse's
// SDKs), else openinference.span.kind, else gen_ai.operation.name, else
// traceloop.span.kind, else llm.request.type, else the Vercel AI SDK's
// operation (ai.operationId: its provider calls are GENERATION or
// EMBEDDING, ai.toolCall TOOL, the outer calls SPAN), else what the
// attributes imply (a model: GENERATION; a tool name: TOOL; an agent name:
// AGENT), else SPAN. Within each field, explicit agenttrace.* values come
// first, Langfuse's langfuse.* next, then the open conventions, the
// Vercel AI SDK's ai.* after the GenAI names it sets beside them. Usage and cost are read for GENERATION
// and EMBEDDING observations only: agent and chain spans that report the
// totals of their model calls would otherwise be counted twice.
// Span events become EVENT observations under their span, except
// exceptions (which set the level and status message) and GenAI content
// events whose content became the input or output.
//
// Level. agenttrace.level wins; else status ERROR, or an exception event on
// a span with status UNSET, is ERROR; an exception on a span whose status
// is OK was handled and is WARNING; otherwise DEFAULT. The status message
// is the span's, else agenttrace.status_message, else "type: message" of
// the first exception.
//
// Traces. Any span may state trace-level values (user, session, tags,
// metadata, name, environment, release, version, input, output; see
// explicitTraceFields), not only the root. Per trace and request Map emits
// at most two TRACE_CREATE events, versioned so the read-time merge (newest
// event_ts wins per field) prefers explicit statements over values merely
// implied by the root, and the root over its descendants; see traceEvents.
// A trace whose root never arrives still gets a row with a timestamp (its
// earliest span start) and its resource's environment and release.
//
// Resources. deployment.environment.name (or deployment.environment) gives
// the environment of the trace and its observations, service.version the
// release and version; resource attributes are trace metadata
// "resource.<key>", except those describing where the process runs
// (process.*, host.*, os.*, telemetry.*, container.*, k8s.*, cloud.*, ...),
// kept together as one JSON object "resource.runtime" so they do not bury
// what the application stated; each observation records
// resource.service.name.
//
// Metadata. An attribute is consumed only when its value became a typed
// field verbatim (the chosen model, token counts, input and output
// sources, trace-level ids, agenttrace.* controls); every other attribute
// is kept as observation metadata: strings as they are, numbers and
// booleans in their usual notation, bytes in base64, arrays and maps as
// JSON. Alternatives not chosen (gen_ai.request.model beside
// gen_ai.response.model, input.value beside llm.input_messages.*) stay
// there too. The scope, span kind, status code, trace state, links and
// dropped counts are kept under otel.*.
//
// Cost. Only a cost the client sent (llm.cost.*, gen_ai.usage.cost,
// agenttrace.cost.*) is mapped; pricing usage is the worker's job.
//
// Bounds. Names, model, environment, release, version, tags and map keys
// are cut to 1 KiB, user and session ids to 256 bytes, metadata and
// parameter values and the status message to 64 KiB (marked
// "…(truncated)"); a span adds at most 100 tags; structured values nest at
// most 32 levels (deeper parts read "…(nested too deep)"). Input and output
// are not cut: the stream message that carried them bounds them.
package otlpmap
