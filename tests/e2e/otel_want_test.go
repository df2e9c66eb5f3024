package e2e

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
)

// This file is the test's own statement of docs/otel-mapping.md for the
// attributes the fake agents use: from the spans the SDK recorded it
// derives the trace, the observations and the costs query must show. It
// shares no code with pkg/otlpmap, so a mapping bug cannot hide in both.

// genAIOperationTypes are the observation types of gen_ai.operation.name.
var genAIOperationTypes = map[string]commonv1.ObservationType{
	"chat":         commonv1.ObservationType_OBSERVATION_TYPE_GENERATION,
	"execute_tool": commonv1.ObservationType_OBSERVATION_TYPE_TOOL,
	"invoke_agent": commonv1.ObservationType_OBSERVATION_TYPE_AGENT,
}

// spanAttrs reads a recorded span's attributes and remembers which became
// typed fields; the rest is the observation's metadata.
type spanAttrs struct {
	byKey    map[string]attribute.Value
	consumed map[string]bool
}

func newSpanAttrs(kvs []attribute.KeyValue) *spanAttrs {
	a := &spanAttrs{byKey: map[string]attribute.Value{}, consumed: map[string]bool{}}
	for _, kv := range kvs {
		a.byKey[string(kv.Key)] = kv.Value
	}
	return a
}

// take consumes the first of keys that is set.
func (a *spanAttrs) take(keys ...string) (attribute.Value, bool) {
	for _, k := range keys {
		if v, ok := a.byKey[k]; ok {
			a.consumed[k] = true
			return v, true
		}
	}
	return attribute.Value{}, false
}

func (a *spanAttrs) str(keys ...string) string {
	v, _ := a.take(keys...)
	return v.AsString()
}

func (a *spanAttrs) count(key string) *int64 {
	if v, ok := a.take(key); ok {
		n := v.AsInt64()
		return &n
	}
	return nil
}

func (a *spanAttrs) amount(key string) *float64 {
	if v, ok := a.take(key); ok {
		f := v.AsFloat64()
		return &f
	}
	return nil
}

// content consumes the first of keys that is set as an input or output:
// JSON objects and arrays decoded, other text as it is. OpenInference's
// input.value and output.value stay text without a JSON mime type, which
// the fake agents never send.
func (a *spanAttrs) content(keys ...string) *structpb.Value {
	var (
		v     attribute.Value
		found string
	)
	for _, k := range keys {
		if _, ok := a.byKey[k]; ok {
			v, _ = a.take(k)
			found = k
			break
		}
	}
	if found == "" {
		return nil
	}
	s := v.AsString()
	if found == "input.value" || found == "output.value" {
		return structpb.NewStringValue(s)
	}
	if t := strings.TrimSpace(s); strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[") {
		var decoded any
		if err := json.Unmarshal([]byte(s), &decoded); err == nil {
			pv, err := structpb.NewValue(decoded)
			if err == nil {
				return pv
			}
		}
	}
	return structpb.NewStringValue(s)
}

// rest puts every attribute not consumed into meta, rendered as the
// mapping documents: scalars in their usual notation, arrays as JSON.
func (a *spanAttrs) rest(meta map[string]string) {
	for k, v := range a.byKey {
		if !a.consumed[k] {
			meta[k] = attrText(v)
		}
	}
}

func attrText(v attribute.Value) string {
	switch v.Type() {
	case attribute.STRING:
		return v.AsString()
	case attribute.INT64:
		return strconv.FormatInt(v.AsInt64(), 10)
	case attribute.FLOAT64:
		return strconv.FormatFloat(v.AsFloat64(), 'g', -1, 64)
	case attribute.BOOL:
		return strconv.FormatBool(v.AsBool())
	}
	b, err := json.Marshal(v.AsInterface())
	if err != nil {
		panic(fmt.Sprintf("attribute %v does not marshal: %v", v, err))
	}
	return string(b)
}

// isRuntimeResourceKey: the resource attributes that describe where the
// code ran (docs/otel-mapping.md) are kept together as one JSON object,
// trace metadata "resource.runtime", not one entry each.
func isRuntimeResourceKey(k string) bool {
	for _, ns := range []string{
		"process.", "host.", "os.", "telemetry.", "container.", "k8s.", "cloud.", "faas.",
		"device.", "browser.", "webengine.", "aws.", "gcp.", "azure.", "heroku.",
	} {
		if strings.HasPrefix(k, ns) {
			return true
		}
	}
	return false
}

// traceSide is what a span states about its trace.
type traceSide struct {
	userID, sessionID string
	tags              []string
}

// wantTraceOf is the GetTrace answer the spans of one trace must produce,
// with generation costs from prices when the client sent none.
func wantTraceOf(project string, spans []sdktrace.ReadOnlySpan, prices *priceBook) *queryv1.GetTraceResponse {
	var (
		obs    []*commonv1.Observation
		root   sdktrace.ReadOnlySpan
		side   traceSide
		rootIO [2]*structpb.Value
	)
	for _, s := range spans {
		o, events, st := wantObservation(project, s, prices)
		obs = append(obs, o)
		obs = append(obs, events...)
		if !s.Parent().IsValid() {
			root, rootIO = s, [2]*structpb.Value{o.GetInput(), o.GetOutput()}
		}
		side.userID = cmp.Or(st.userID, side.userID)
		side.sessionID = cmp.Or(st.sessionID, side.sessionID)
		for _, tag := range st.tags {
			if !slices.Contains(side.tags, tag) {
				side.tags = append(side.tags, tag)
			}
		}
	}
	res := spans[0].Resource()
	resAttrs := newSpanAttrs(res.Attributes())
	tr := &commonv1.Trace{
		Id:               spans[0].SpanContext().TraceID().String(),
		ProjectId:        project,
		UserId:           side.userID,
		SessionId:        side.sessionID,
		Tags:             side.tags,
		Metadata:         map[string]string{},
		Environment:      resAttrs.str("deployment.environment.name"),
		Release:          resAttrs.str("service.version"),
		ObservationCount: int64(len(obs)),
	}
	tr.Version = tr.Release
	runtime := map[string]any{}
	for _, kv := range res.Attributes() {
		if isRuntimeResourceKey(string(kv.Key)) {
			runtime[string(kv.Key)] = kv.Value.AsInterface()
			continue
		}
		tr.Metadata["resource."+string(kv.Key)] = attrText(kv.Value)
	}
	if len(runtime) > 0 {
		b, err := json.Marshal(runtime)
		if err != nil {
			panic(fmt.Sprintf("runtime resource attributes do not marshal: %v", err))
		}
		tr.Metadata["resource.runtime"] = string(b)
	}
	if root != nil {
		tr.Name, tr.Timestamp = root.Name(), timestamppb.New(root.StartTime())
		tr.Input, tr.Output = rootIO[0], rootIO[1]
	} else {
		// Without its root, a trace is still listed: at its earliest span.
		earliest := spans[0].StartTime()
		for _, s := range spans {
			if s.StartTime().Before(earliest) {
				earliest = s.StartTime()
			}
		}
		tr.Timestamp = timestamppb.New(earliest)
	}
	var first, last time.Time
	for _, o := range obs {
		tr.Usage = sumUsage(tr.Usage, o.GetUsage())
		tr.Cost = sumCost(tr.Cost, o.GetCost())
		if st := o.GetStartTime().AsTime(); first.IsZero() || st.Before(first) {
			first = st
		}
		if et := o.GetEndTime().AsTime(); et.After(last) {
			last = et
		}
	}
	tr.LatencySeconds = last.Sub(first).Seconds()
	deriveLevelsAndModels(tr, obs)
	return &queryv1.GetTraceResponse{Trace: tr, Observations: treeOf(obs)}
}

// wantObservation maps one recorded span: its observation, the EVENT
// observations of its span events, and what it says about its trace.
func wantObservation(project string, s sdktrace.ReadOnlySpan, prices *priceBook) (*commonv1.Observation, []*commonv1.Observation, traceSide) {
	a := newSpanAttrs(s.Attributes())
	res := newSpanAttrs(s.Resource().Attributes())
	env, version := res.str("deployment.environment.name"), res.str("service.version")
	typ := commonv1.ObservationType_OBSERVATION_TYPE_SPAN
	if op, ok := a.byKey["gen_ai.operation.name"]; ok { // read, not consumed
		typ = genAIOperationTypes[op.AsString()]
	}
	o := &commonv1.Observation{
		Id:          s.SpanContext().SpanID().String(),
		ProjectId:   project,
		TraceId:     s.SpanContext().TraceID().String(),
		Type:        typ,
		Name:        s.Name(),
		StartTime:   timestamppb.New(s.StartTime()),
		EndTime:     timestamppb.New(s.EndTime()),
		Level:       commonv1.ObservationLevel_OBSERVATION_LEVEL_DEFAULT,
		Environment: env,
		Version:     version,
	}
	if s.Parent().IsValid() {
		o.ParentObservationId = s.Parent().SpanID().String()
	}
	side := traceSide{userID: a.str("user.id"), sessionID: a.str("gen_ai.conversation.id")}
	if v, ok := a.take("agenttrace.tags"); ok {
		side.tags = v.AsStringSlice()
	}
	// The model that answered wins over the one asked for; the other stays
	// in metadata.
	o.Model = a.str("gen_ai.response.model", "gen_ai.request.model")
	for k := range a.byKey {
		if p, ok := strings.CutPrefix(k, "gen_ai.request."); ok && p != "model" {
			if o.ModelParameters == nil {
				o.ModelParameters = map[string]string{}
			}
			v, _ := a.take(k)
			o.ModelParameters[p] = attrText(v)
		}
	}
	if typ == commonv1.ObservationType_OBSERVATION_TYPE_GENERATION {
		o.Usage = wantUsage(a)
		o.Cost = wantClientCost(a)
		if o.Cost == nil && o.Usage != nil {
			o.Cost = prices.cost(project, o.GetModel(), s.StartTime(), o.GetUsage())
		}
	}
	o.Input = a.content("gen_ai.input.messages", "input.value", "gen_ai.tool.call.arguments")
	o.Output = a.content("gen_ai.output.messages", "output.value", "gen_ai.tool.call.result")

	meta := map[string]string{
		"resource.service.name": res.str("service.name"),
		"otel.scope.name":       s.InstrumentationScope().Name,
		"otel.scope.version":    s.InstrumentationScope().Version,
		"otel.span.kind":        strings.ToUpper(s.SpanKind().String()),
	}
	switch s.Status().Code {
	case otelcodes.Error:
		meta["otel.status_code"] = "ERROR"
		o.Level = commonv1.ObservationLevel_OBSERVATION_LEVEL_ERROR
	case otelcodes.Ok:
		meta["otel.status_code"] = "OK"
	}
	o.StatusMessage = s.Status().Description
	var events []*commonv1.Observation
	for i, ev := range s.Events() {
		if ev.Name == "exception" {
			ea := newSpanAttrs(ev.Attributes)
			ea.rest(meta)
			if o.StatusMessage == "" {
				o.StatusMessage = ea.str("exception.type") + ": " + ea.str("exception.message")
			}
			if s.Status().Code == otelcodes.Unset {
				o.Level = commonv1.ObservationLevel_OBSERVATION_LEVEL_ERROR
			}
			continue
		}
		em := map[string]string{}
		newSpanAttrs(ev.Attributes).rest(em)
		events = append(events, &commonv1.Observation{
			Id:                  fmt.Sprintf("%s-%d", o.GetId(), i),
			ProjectId:           project,
			TraceId:             o.GetTraceId(),
			ParentObservationId: o.GetId(),
			Type:                commonv1.ObservationType_OBSERVATION_TYPE_EVENT,
			Name:                ev.Name,
			StartTime:           timestamppb.New(ev.Time),
			EndTime:             timestamppb.New(ev.Time),
			Level:               commonv1.ObservationLevel_OBSERVATION_LEVEL_DEFAULT,
			Metadata:            nonEmptyMap(em),
			Environment:         env,
			Version:             version,
		})
	}
	a.rest(meta)
	o.Metadata = meta
	return o, events, side
}

func nonEmptyMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

// wantUsage: GenAI input tokens count the cached ones too; total is
// input + output when not sent.
func wantUsage(a *spanAttrs) *commonv1.Usage {
	u := &commonv1.Usage{Input: a.count("gen_ai.usage.input_tokens"), Output: a.count("gen_ai.usage.output_tokens")}
	if u.Input == nil && u.Output == nil {
		return nil
	}
	total := u.GetInput() + u.GetOutput()
	u.Total = &total
	for detail, key := range map[string]string{
		"cached_input":         "gen_ai.usage.cache_read.input_tokens",
		"cache_creation_input": "gen_ai.usage.cache_creation.input_tokens",
	} {
		if n := a.count(key); n != nil {
			if u.Details == nil {
				u.Details = map[string]int64{}
			}
			u.Details[detail] = *n
		}
	}
	return u
}

// wantClientCost is the cost the client sent (OpenInference llm.cost.*).
func wantClientCost(a *spanAttrs) *commonv1.Cost {
	c := &commonv1.Cost{Input: a.amount("llm.cost.prompt"), Output: a.amount("llm.cost.completion"), Total: a.amount("llm.cost.total")}
	if c.Input == nil && c.Output == nil && c.Total == nil {
		return nil
	}
	return c
}

// treeOf nests observations under their parents, siblings by start time
// then id, as GetTrace documents.
func treeOf(obs []*commonv1.Observation) []*queryv1.ObservationNode {
	sorted := slices.SortedFunc(slices.Values(obs), func(a, b *commonv1.Observation) int {
		return cmp.Or(a.GetStartTime().AsTime().Compare(b.GetStartTime().AsTime()), cmp.Compare(a.GetId(), b.GetId()))
	})
	present := map[string]bool{}
	for _, o := range sorted {
		present[o.GetId()] = true
	}
	var build func(parent string) []*queryv1.ObservationNode
	build = func(parent string) []*queryv1.ObservationNode {
		var nodes []*queryv1.ObservationNode
		for _, o := range sorted {
			p := o.GetParentObservationId()
			if !present[p] {
				p = ""
			}
			if p == parent {
				nodes = append(nodes, &queryv1.ObservationNode{Observation: o, Children: build(o.GetId())})
			}
		}
		return nodes
	}
	return build("")
}

func sumUsage(sum, u *commonv1.Usage) *commonv1.Usage {
	if u == nil {
		return sum
	}
	if sum == nil {
		sum = &commonv1.Usage{}
	}
	sum.Input, sum.Output, sum.Total = addOpt(sum.Input, u.Input), addOpt(sum.Output, u.Output), addOpt(sum.Total, u.Total)
	for k, v := range u.GetDetails() {
		if sum.Details == nil {
			sum.Details = map[string]int64{}
		}
		sum.Details[k] += v
	}
	return sum
}

func sumCost(sum, c *commonv1.Cost) *commonv1.Cost {
	if c == nil {
		return sum
	}
	if sum == nil {
		sum = &commonv1.Cost{}
	}
	sum.Input, sum.Output, sum.Total = addOpt(sum.Input, c.Input), addOpt(sum.Output, c.Output), addOpt(sum.Total, c.Total)
	return sum
}

func addOpt[N int64 | float64](a, b *N) *N {
	switch {
	case b == nil:
		return a
	case a == nil:
		v := *b
		return &v
	}
	v := *a + *b
	return &v
}

// priceBook is the model price table a project sees
// (GET /api/v1/model-prices), with the documented choice of a price:
// the pattern matches the whole model name, case-insensitively; the price
// took effect at or before the observation's start; the project's own
// prices beat the global ones, and the latest effective_from wins.
type priceBook struct {
	prices []*authv1.ModelPrice
}

func (b *priceBook) lookup(project, model string, at time.Time) *authv1.ModelPrice {
	var best *authv1.ModelPrice
	better := func(p *authv1.ModelPrice) bool {
		switch {
		case best == nil:
			return true
		case (p.GetProjectId() == project) != (best.GetProjectId() == project):
			return p.GetProjectId() == project
		}
		return p.GetEffectiveFrom().AsTime().After(best.GetEffectiveFrom().AsTime())
	}
	for _, p := range b.prices {
		if p.GetProjectId() != "" && p.GetProjectId() != project {
			continue
		}
		re, err := regexp.Compile(`(?i)\A(?:` + p.GetMatchPattern() + `)\z`)
		if err != nil || !re.MatchString(model) || p.GetEffectiveFrom().AsTime().After(at) {
			continue
		}
		if better(p) {
			best = p
		}
	}
	return best
}

// cost prices usage as the pricing documentation states: cached input
// tokens (part of the input count) at the cached price when there is one,
// the rest of the input at the input price, output at the output price.
// It returns nil when no price applies, as the worker leaves such
// generations unpriced.
func (b *priceBook) cost(project, model string, at time.Time, u *commonv1.Usage) *commonv1.Cost {
	p := b.lookup(project, model, at)
	if p == nil {
		return nil
	}
	price := p.GetPrices()
	in, out := 0.0, 0.0
	uncached := u.GetInput()
	for _, detail := range []string{"cached_input", "cache_creation_input"} {
		if n, ok := u.GetDetails()[detail]; ok {
			if pd, priced := price[detail]; priced {
				in += float64(n) * pd
				uncached -= n
			}
		}
	}
	in += float64(max(uncached, 0)) * price["input"]
	out += float64(u.GetOutput()) * price["output"]
	total := in + out
	return &commonv1.Cost{Input: &in, Output: &out, Total: &total}
}

// approxEqual compares costs the way compareOpts does.
func approxEqual(a, b float64) bool {
	return math.Abs(a-b) <= 1e-12+1e-9*math.Max(math.Abs(a), math.Abs(b))
}

// spansByName indexes a run's spans by name.
func spansByName(spans []sdktrace.ReadOnlySpan) map[string]sdktrace.ReadOnlySpan {
	out := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		out[s.Name()] = s
	}
	return out
}
