package otlpmap

import (
	"strings"

	commonv1 "go.opentelemetry.io/proto/otlp/common/v1"
)

// traceFields are trace-level values: those a span states explicitly about
// its trace (any span may, not only the root) or those a resource implies.
// Empty strings and nil mean "not stated".
type traceFields struct {
	name        string
	userID      string
	sessionID   string
	environment string
	release     string
	version     string
	tags        []string
	metadata    map[string]string
	input       any
	output      any
	hasInput    bool
	hasOutput   bool
}

func (f *traceFields) empty() bool {
	return f.name == "" && f.userID == "" && f.sessionID == "" && f.environment == "" &&
		f.release == "" && f.version == "" && len(f.tags) == 0 && len(f.metadata) == 0 &&
		!f.hasInput && !f.hasOutput
}

// over copies into f what g states, g winning every field it sets; tags
// are united and metadata merged key by key.
func (f *traceFields) over(g *traceFields) {
	for _, p := range []struct{ dst, src *string }{
		{&f.name, &g.name}, {&f.userID, &g.userID}, {&f.sessionID, &g.sessionID},
		{&f.environment, &g.environment}, {&f.release, &g.release}, {&f.version, &g.version},
	} {
		if *p.src != "" {
			*p.dst = *p.src
		}
	}
	f.tags = unite(f.tags, g.tags)
	if len(g.metadata) > 0 && f.metadata == nil {
		f.metadata = map[string]string{}
	}
	for k, v := range g.metadata {
		f.metadata[k] = v
	}
	if g.hasInput {
		f.input, f.hasInput = g.input, true
	}
	if g.hasOutput {
		f.output, f.hasOutput = g.output, true
	}
}

func unite(a, b []string) []string {
	for _, t := range b {
		if len(a) >= maxTags {
			break
		}
		dup := false
		for _, have := range a {
			if have == t {
				dup = true
				break
			}
		}
		if !dup {
			a = append(a, t)
		}
	}
	return a
}

const associationPrefix = "traceloop.association.properties."

const vercelMetadataPrefix = "ai.telemetry.metadata."

// explicitTraceFields reads what a span states about its trace (Langfuse's
// SDKs and the Vercel AI SDK state them on every span, not on the root):
//
//	name        agenttrace.trace.name, langfuse.trace.name
//	user_id     agenttrace.user.id, langfuse.user.id, user.id (OpenInference, Langfuse),
//	            ai.telemetry.metadata.userId, traceloop.association.properties.user_id, enduser.id
//	session_id  agenttrace.session.id, langfuse.session.id, session.id, ai.telemetry.metadata.sessionId,
//	            traceloop.association.properties.session_id, gen_ai.conversation.id
//	tags        agenttrace.tags, langfuse.trace.tags, ai.telemetry.metadata.tags and tag.tags, united
//	metadata    the OpenInference metadata JSON object, other traceloop.association.properties.<k>,
//	            langfuse.trace.metadata(.<k>), langfuse.trace.public as "public",
//	            other ai.telemetry.metadata.<k>, agenttrace.metadata.<k> (later ones win a key)
//	environment, release, version   agenttrace.environment / .release / .version, then langfuse.*
//	input, output                   agenttrace.trace.input / .output, then langfuse.trace.*
func explicitTraceFields(a *attrs) traceFields {
	var f traceFields
	f.name, _ = a.str("agenttrace.trace.name", "langfuse.trace.name")
	f.name = clip(f.name, maxNameBytes)
	f.userID, _ = a.str("agenttrace.user.id", "langfuse.user.id", "user.id", vercelMetadataPrefix+"userId",
		associationPrefix+"user_id", "enduser.id")
	f.userID = clip(f.userID, maxIDBytes)
	f.sessionID, _ = a.str("agenttrace.session.id", "langfuse.session.id", "session.id", vercelMetadataPrefix+"sessionId",
		associationPrefix+"session_id", "gen_ai.conversation.id")
	f.sessionID = clip(f.sessionID, maxIDBytes)
	f.environment, _ = a.str("agenttrace.environment", "langfuse.environment")
	f.environment = clip(f.environment, maxNameBytes)
	f.release, _ = a.str("agenttrace.release", "langfuse.release")
	f.release = clip(f.release, maxNameBytes)
	f.version, _ = a.str("agenttrace.version", "langfuse.version")
	f.version = clip(f.version, maxNameBytes)
	for _, k := range []string{"agenttrace.tags", "langfuse.trace.tags", vercelMetadataPrefix + "tags", "tag.tags"} {
		if v, ok := a.get(k); ok {
			a.use(k)
			f.tags = unite(f.tags, tagsOf(v))
		}
	}
	meta := map[string]string{}
	if v, ok := a.get("metadata"); ok {
		a.use("metadata")
		if obj, isObj := structured(v).(map[string]any); isObj {
			for k, mv := range obj {
				meta[clip(k, maxNameBytes)] = clipText(plainText(mv))
			}
		} else {
			meta["metadata"] = clipText(text(v))
		}
	}
	prefixedMetadata(a, associationPrefix, "", meta)
	prefixedMetadata(a, "langfuse.trace.metadata.", "metadata", meta)
	if v, ok := a.str("langfuse.trace.public"); ok {
		meta["public"] = clipText(v)
	}
	prefixedMetadata(a, vercelMetadataPrefix, "", meta)
	prefixedMetadata(a, "agenttrace.metadata.", "", meta)
	if len(meta) > 0 {
		f.metadata = meta
	}
	for _, k := range []string{"agenttrace.trace.input", "langfuse.trace.input"} {
		if v, ok := a.get(k); ok {
			a.use(k)
			f.input, f.hasInput = structured(v), true
			break
		}
	}
	for _, k := range []string{"agenttrace.trace.output", "langfuse.trace.output"} {
		if v, ok := a.get(k); ok {
			a.use(k)
			f.output, f.hasOutput = structured(v), true
			break
		}
	}
	return f
}

// tagsOf reads tags from a string array, a JSON array in a string, or a
// comma-separated string.
func tagsOf(v *commonv1.AnyValue) []string {
	var raw []string
	switch x := structured(v).(type) {
	case []any:
		for _, e := range x {
			raw = append(raw, plainText(e))
		}
	case string:
		raw = strings.Split(x, ",")
	default:
		raw = []string{text(v)}
	}
	var tags []string
	for _, t := range raw {
		if t = clip(strings.TrimSpace(t), maxNameBytes); t != "" {
			tags = unite(tags, []string{t})
		}
	}
	return tags
}

// runtimeNamespaces are the resource attribute namespaces that describe
// where a process runs (SDK, process, host, OS, container, cluster, cloud)
// rather than what it is: OTel SDKs and detectors add them to every
// export, and among the trace's own metadata they would bury what the
// application stated.
var runtimeNamespaces = []string{
	"process.", "host.", "os.", "telemetry.", "container.", "k8s.", "cloud.", "faas.",
	"device.", "browser.", "webengine.", "aws.", "gcp.", "azure.", "heroku.",
}

// runtimeResourceKey is the trace metadata entry that holds a resource's
// runtime attributes, as one JSON object.
const runtimeResourceKey = "resource.runtime"

func isRuntimeAttribute(key string) bool {
	for _, ns := range runtimeNamespaces {
		if strings.HasPrefix(key, ns) {
			return true
		}
	}
	return false
}

// resourceFields reads what a resource (its attributes a) implies for the
// traces of its spans: environment from deployment.environment.name (or
// the older deployment.environment), release and version from
// service.version; as
// trace metadata, each resource attribute as "resource.<key>", except the
// runtime ones (runtimeNamespaces), which are kept together as one JSON
// object under "resource.runtime".
func resourceFields(a *attrs) traceFields {
	var f traceFields
	env, _ := a.str("deployment.environment.name", "deployment.environment")
	f.environment = clip(env, maxNameBytes)
	v, _ := a.str("service.version")
	f.release, f.version = clip(v, maxNameBytes), clip(v, maxNameBytes)
	if a.empty() {
		return f
	}
	f.metadata = make(map[string]string, len(a.kvs))
	var runtime map[string]any
	for k, val := range a.all() {
		if isRuntimeAttribute(k) {
			if runtime == nil {
				runtime = map[string]any{}
			}
			runtime[k] = native(val, 1)
			continue
		}
		f.metadata[clip("resource."+k, maxNameBytes)] = clipText(text(val))
	}
	if runtime != nil {
		f.metadata[runtimeResourceKey] = clipText(jsonText(runtime))
	}
	return f
}
