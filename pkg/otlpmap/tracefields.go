package otlpmap

import (
	"strings"

	commonv1 "go.opentelemetry.io/proto/otlp/common/v1"
	resourcev1 "go.opentelemetry.io/proto/otlp/resource/v1"
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

// explicitTraceFields reads what a span states about its trace:
//
//	name        agenttrace.trace.name
//	user_id     agenttrace.user.id, user.id (OpenInference), traceloop.association.properties.user_id, enduser.id
//	session_id  agenttrace.session.id, session.id (OpenInference), traceloop.association.properties.session_id, gen_ai.conversation.id
//	tags        agenttrace.tags and tag.tags (OpenInference), united
//	metadata    agenttrace.metadata.<k>, the OpenInference metadata JSON object, other traceloop.association.properties.<k>
//	environment, release, version   agenttrace.environment / .release / .version
//	input, output                   agenttrace.trace.input / .output
func explicitTraceFields(a *attrs) traceFields {
	var f traceFields
	f.name, _ = a.str("agenttrace.trace.name")
	f.name = clip(f.name, maxNameBytes)
	f.userID, _ = a.str("agenttrace.user.id", "user.id", associationPrefix+"user_id", "enduser.id")
	f.userID = clip(f.userID, maxIDBytes)
	f.sessionID, _ = a.str("agenttrace.session.id", "session.id", associationPrefix+"session_id", "gen_ai.conversation.id")
	f.sessionID = clip(f.sessionID, maxIDBytes)
	f.environment, _ = a.str("agenttrace.environment")
	f.environment = clip(f.environment, maxNameBytes)
	f.release, _ = a.str("agenttrace.release")
	f.release = clip(f.release, maxNameBytes)
	f.version, _ = a.str("agenttrace.version")
	f.version = clip(f.version, maxNameBytes)
	for _, k := range []string{"agenttrace.tags", "tag.tags"} {
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
	for _, prefix := range []string{associationPrefix, "agenttrace.metadata."} {
		for _, k := range a.withPrefix(prefix) {
			if a.used[k] {
				continue // user_id and session_id, taken above
			}
			v, _ := a.get(k)
			a.use(k)
			meta[clip(strings.TrimPrefix(k, prefix), maxNameBytes)] = clipText(text(v))
		}
	}
	if len(meta) > 0 {
		f.metadata = meta
	}
	if v, ok := a.get("agenttrace.trace.input"); ok {
		a.use("agenttrace.trace.input")
		f.input, f.hasInput = structured(v), true
	}
	if v, ok := a.get("agenttrace.trace.output"); ok {
		a.use("agenttrace.trace.output")
		f.output, f.hasOutput = structured(v), true
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

// resourceFields reads what a resource implies for the traces of its spans:
// environment from deployment.environment.name (or the older
// deployment.environment), release and version from service.version, and
// every resource attribute as metadata "resource.<key>".
func resourceFields(r *resourcev1.Resource) traceFields {
	a := newAttrs(r.GetAttributes())
	var f traceFields
	env, _ := a.str("deployment.environment.name", "deployment.environment")
	f.environment = clip(env, maxNameBytes)
	v, _ := a.str("service.version")
	f.release, f.version = clip(v, maxNameBytes), clip(v, maxNameBytes)
	if len(a.byKey) > 0 {
		f.metadata = make(map[string]string, len(a.byKey))
		for k, val := range a.byKey {
			f.metadata[clip("resource."+k, maxNameBytes)] = clipText(text(val))
		}
	}
	return f
}
