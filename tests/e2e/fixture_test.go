package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
)

// fixtureSpec sizes a fixture. Object ids depend only on their index, so two
// fixtures of different labels (projects) share ids but not content.
type fixtureSpec struct {
	label       string // goes into names, so each project's content differs
	seed        uint64
	traces      int
	obsPerTrace int // at least 4, for the 4-deep chain
	scores      int
	sessions    int
	users       int
	base        time.Time // the first trace's timestamp, roughly
	batchSize   int
	resendEvery int // every n-th batch is sent a second time
	// updateEvery: every n-th trace, observation and score (in that order)
	// is a create-then-update pair.
	updateEvery [3]int
}

// fixture is what one project sends, in send order, and what query must show
// once it is stored.
type fixture struct {
	spec    fixtureSpec
	batches [][]*ingestv1.IngestEvent
	// resend lists the batches sent a second time, as a client retry would.
	resend []int
	events int // distinct events
}

// allObservationTypes is every type a fixture must use.
var allObservationTypes = []commonv1.ObservationType{
	commonv1.ObservationType_OBSERVATION_TYPE_SPAN,
	commonv1.ObservationType_OBSERVATION_TYPE_GENERATION,
	commonv1.ObservationType_OBSERVATION_TYPE_EVENT,
	commonv1.ObservationType_OBSERVATION_TYPE_AGENT,
	commonv1.ObservationType_OBSERVATION_TYPE_TOOL,
	commonv1.ObservationType_OBSERVATION_TYPE_CHAIN,
	commonv1.ObservationType_OBSERVATION_TYPE_RETRIEVER,
	commonv1.ObservationType_OBSERVATION_TYPE_EMBEDDING,
	commonv1.ObservationType_OBSERVATION_TYPE_EVALUATOR,
	commonv1.ObservationType_OBSERVATION_TYPE_GUARDRAIL,
}

// generator builds a fixture; its only randomness is the seeded rand.
type generator struct {
	spec    fixtureSpec
	rnd     *rand.Rand
	eventN  int
	creates []*ingestv1.IngestEvent
	updates []*ingestv1.IngestEvent
}

// newFixture generates the events of spec: every trace is a tree of
// obsPerTrace observations nested 4 deep using every observation type, part
// of the objects are create-then-update pairs, a third of the updates are
// sent before their create, and some batches are sent twice.
func newFixture(spec fixtureSpec) *fixture {
	g := &generator{spec: spec, rnd: rand.New(rand.NewPCG(spec.seed, spec.seed^0x9e3779b97f4a7c15))}
	obsIDs := make([][]string, spec.traces)
	for i := range spec.traces {
		obsIDs[i] = g.trace(i)
	}
	for i := range spec.scores {
		g.score(i, obsIDs)
	}

	// Early updates reach ingest before the create of their object; the
	// update still wins where it sets a field, by its newer event timestamp.
	var early, late []*ingestv1.IngestEvent
	for i, u := range g.updates {
		if i%3 == 0 {
			early = append(early, u)
		} else {
			late = append(late, u)
		}
	}
	order := append(append(early, g.creates...), late...)

	f := &fixture{spec: spec, events: len(order)}
	for start := 0; start < len(order); start += spec.batchSize {
		f.batches = append(f.batches, order[start:min(start+spec.batchSize, len(order))])
	}
	for i := range f.batches {
		if i%spec.resendEvery == 0 {
			f.resend = append(f.resend, i)
		}
	}
	return f
}

// id derives a stable hex id of n bytes from a name.
func id(n int, format string, args ...any) string {
	sum := sha256.Sum256(fmt.Appendf(nil, format, args...))
	return hex.EncodeToString(sum[:n])
}

func traceID(i int) string          { return id(16, "trace/%d", i) }
func observationID(i, j int) string { return id(8, "observation/%d/%d", i, j) }
func scoreID(i int) string          { return id(16, "score/%d", i) }
func sessionID(k int) string        { return fmt.Sprintf("session-%02d", k) }

// ts is a timestamp with nanosecond precision: the test checks every digit
// comes back.
func (g *generator) ts(t time.Time) *timestamppb.Timestamp {
	return timestamppb.New(t.Add(time.Duration(g.rnd.IntN(1000)) + time.Duration(g.rnd.IntN(1000))*time.Microsecond))
}

func (g *generator) event(typ ingestv1.EventType, at time.Time) *ingestv1.IngestEvent {
	g.eventN++
	return &ingestv1.IngestEvent{Id: fmt.Sprintf("evt-%06d", g.eventN), Timestamp: g.ts(at), Type: typ}
}

// updateFollows is the event time of an update: a second after the create.
func updateFollows(create *ingestv1.IngestEvent) time.Time {
	return create.GetTimestamp().AsTime().Add(time.Second)
}

func (g *generator) trace(i int) []string {
	s := g.spec
	at := s.base.Add(time.Duration(i) * time.Minute)
	tid := traceID(i)
	body := &ingestv1.TraceBody{
		Id:          tid,
		Name:        proto.String(fmt.Sprintf("%s-agent-run-%02d", s.label, i)),
		Timestamp:   g.ts(at),
		UserId:      proto.String(fmt.Sprintf("user-%d", i%s.users)),
		Tags:        []string{"e2e", fmt.Sprintf("group-%d", i%3)},
		Metadata:    map[string]string{"run": fmt.Sprint(i), "stage": "started", "label": s.label},
		Input:       jsonValue(map[string]any{"question": fmt.Sprintf("%s question %d", s.label, i), "attempt": float64(1 + i%2)}),
		Release:     proto.String("2024.11." + fmt.Sprint(i%4)),
		Version:     proto.String("v1"),
		Environment: proto.String([]string{"production", "staging"}[i%2]),
	}
	// One trace in six has no session, so sessions are not the only path.
	if i%6 != 5 {
		body.SessionId = proto.String(sessionID(i % s.sessions))
	}
	create := g.event(ingestv1.EventType_EVENT_TYPE_TRACE_CREATE, at)
	create.Trace = body
	g.creates = append(g.creates, create)
	output := jsonValue(map[string]any{"answer": fmt.Sprintf("%s answer %d", s.label, i), "ok": i%7 != 0})
	if i%s.updateEvery[0] == 0 {
		upd := g.event(ingestv1.EventType_EVENT_TYPE_TRACE_UPDATE, updateFollows(create))
		upd.Trace = &ingestv1.TraceBody{
			Id:       tid,
			Name:     proto.String(fmt.Sprintf("%s-agent-run-%02d-done", s.label, i)),
			Output:   output,
			Tags:     []string{"group-" + fmt.Sprint(i%3), "finished"},
			Metadata: map[string]string{"stage": "finished", "reviewed": "no"},
			Version:  proto.String("v2"),
		}
		g.updates = append(g.updates, upd)
	} else {
		body.Output = output
	}

	ids := make([]string, s.obsPerTrace)
	depth := make([]int, s.obsPerTrace)
	for j := range s.obsPerTrace {
		ids[j] = observationID(i, j)
		parent := -1
		switch {
		case j == 0:
		case j < 4:
			parent = j - 1 // the chain 0 -> 1 -> 2 -> 3 is 4 deep
		default:
			for parent < 0 || depth[parent] >= 4 {
				parent = g.rnd.IntN(j)
			}
		}
		if parent >= 0 {
			depth[j] = depth[parent] + 1
		} else {
			depth[j] = 1
		}
		g.observation(i, j, parent, body.GetTimestamp().AsTime())
	}
	return ids
}

func (g *generator) observation(i, j, parent int, traceStart time.Time) {
	s := g.spec
	typ := commonv1.ObservationType_OBSERVATION_TYPE_AGENT
	if j > 0 {
		typ = allObservationTypes[(i*s.obsPerTrace+j)%len(allObservationTypes)]
	}
	// Starts are distinct and increasing with j, so a child starts after its
	// parent and list order is unambiguous.
	start := g.ts(traceStart.Add(time.Duration(j+1) * time.Millisecond))
	end := timestamppb.New(start.AsTime().Add(time.Duration(5+g.rnd.IntN(400))*time.Millisecond + time.Duration(g.rnd.IntN(1000))))
	gen := typ == commonv1.ObservationType_OBSERVATION_TYPE_GENERATION
	body := &ingestv1.ObservationBody{
		Id:          observationID(i, j),
		TraceId:     traceID(i),
		Type:        typ,
		Name:        proto.String(fmt.Sprintf("%s-%s-%d", s.label, typeName(typ), j)),
		StartTime:   start,
		Level:       []commonv1.ObservationLevel{commonv1.ObservationLevel_OBSERVATION_LEVEL_DEFAULT, commonv1.ObservationLevel_OBSERVATION_LEVEL_DEBUG, commonv1.ObservationLevel_OBSERVATION_LEVEL_WARNING}[j%3],
		Input:       jsonValue(map[string]any{"step": float64(j), "args": []any{"a", float64(i)}, "nested": map[string]any{"label": s.label}}),
		Metadata:    map[string]string{"component": typeName(typ), "phase": "start"},
		Version:     proto.String("1.4.2"),
		Environment: proto.String([]string{"production", "staging"}[i%2]),
	}
	if parent >= 0 {
		body.ParentObservationId = proto.String(observationID(i, parent))
	}
	inTokens := int64(100 + g.rnd.IntN(900))
	outTokens := int64(10 + g.rnd.IntN(300))
	if gen {
		body.Model = proto.String([]string{"gpt-4o", "claude-3-5-sonnet", "llama-3.1-70b"}[j%3])
		body.ModelParameters = map[string]string{"temperature": "0.2", "max_tokens": "512"}
		body.CompletionStartTime = timestamppb.New(start.AsTime().Add(3*time.Millisecond + time.Duration(g.rnd.IntN(1000))))
		body.Usage = &commonv1.Usage{Input: proto.Int64(inTokens), Details: map[string]int64{"cached_input": inTokens / 4}}
		body.Cost = &commonv1.Cost{Input: proto.Float64(float64(inTokens) * 2.5e-6)}
	}
	output := jsonValue(map[string]any{"result": fmt.Sprintf("%s result %d.%d", s.label, i, j), "score": float64(j) / 4})
	failed := j%13 == 7

	create := g.event(ingestv1.EventType_EVENT_TYPE_OBSERVATION_CREATE, start.AsTime())
	create.Observation = body
	g.creates = append(g.creates, create)

	target := body // the event that finishes the observation
	if (i*s.obsPerTrace+j)%s.updateEvery[1] == 0 {
		upd := g.event(ingestv1.EventType_EVENT_TYPE_OBSERVATION_UPDATE, updateFollows(create))
		target = &ingestv1.ObservationBody{
			Id:       body.GetId(),
			TraceId:  body.GetTraceId(),
			Name:     proto.String(body.GetName() + "-done"),
			Metadata: map[string]string{"phase": "end", "attempts": fmt.Sprint(1 + j%3)},
		}
		upd.Observation = target
		g.updates = append(g.updates, upd)
		if gen {
			inTokens += 17 // the update corrects the create's count
		}
	}
	target.EndTime = end
	target.Output = output
	if failed {
		target.Level = commonv1.ObservationLevel_OBSERVATION_LEVEL_ERROR
		target.StatusMessage = proto.String(fmt.Sprintf("tool timed out after %dms", 100+j))
	}
	if gen {
		details := map[string]int64{"reasoning_output": outTokens / 3}
		if target == body { // one event carries everything
			details["cached_input"] = body.GetUsage().GetDetails()["cached_input"]
		}
		target.Usage = &commonv1.Usage{
			Input:   proto.Int64(inTokens),
			Output:  proto.Int64(outTokens),
			Total:   proto.Int64(inTokens + outTokens),
			Details: details,
		}
		target.Cost = &commonv1.Cost{
			Input:  proto.Float64(float64(inTokens) * 2.5e-6),
			Output: proto.Float64(float64(outTokens) * 1e-5),
			Total:  proto.Float64(float64(inTokens)*2.5e-6 + float64(outTokens)*1e-5),
		}
	}
}

func (g *generator) score(i int, obsIDs [][]string) {
	s := g.spec
	at := s.base.Add(2*time.Hour + time.Duration(i)*time.Second)
	t := i % s.traces
	body := &ingestv1.ScoreBody{
		Id:          scoreID(i),
		Name:        proto.String([]string{"helpfulness", "correctness", "toxicity"}[i%3]),
		DataType:    []commonv1.ScoreDataType{commonv1.ScoreDataType_SCORE_DATA_TYPE_NUMERIC, commonv1.ScoreDataType_SCORE_DATA_TYPE_CATEGORICAL, commonv1.ScoreDataType_SCORE_DATA_TYPE_BOOLEAN}[i%3],
		Source:      []commonv1.ScoreSource{commonv1.ScoreSource_SCORE_SOURCE_API, commonv1.ScoreSource_SCORE_SOURCE_EVAL, commonv1.ScoreSource_SCORE_SOURCE_ANNOTATION}[(i/3)%3],
		Timestamp:   g.ts(at),
		Metadata:    map[string]string{"evaluator": s.label + "-judge"},
		Environment: proto.String("production"),
	}
	switch i % 5 {
	case 0, 1: // on a trace
		body.TraceId = traceID(t)
	case 2, 3: // on an observation
		body.TraceId = traceID(t)
		body.ObservationId = proto.String(obsIDs[t][1+g.rnd.IntN(len(obsIDs[t])-1)])
	case 4: // on a session
		body.SessionId = proto.String(sessionID(i % s.sessions))
	}
	switch body.GetDataType() {
	case commonv1.ScoreDataType_SCORE_DATA_TYPE_NUMERIC:
		body.Value = proto.Float64(float64(g.rnd.IntN(1000)) / 1000)
	case commonv1.ScoreDataType_SCORE_DATA_TYPE_CATEGORICAL:
		body.StringValue = proto.String([]string{"good", "bad", "neutral"}[g.rnd.IntN(3)])
	case commonv1.ScoreDataType_SCORE_DATA_TYPE_BOOLEAN:
		body.Value = proto.Float64(float64(g.rnd.IntN(2)))
	}
	if i%4 == 0 {
		body.Comment = proto.String("first pass")
	}
	create := g.event(ingestv1.EventType_EVENT_TYPE_SCORE_CREATE, at)
	create.Score = body
	g.creates = append(g.creates, create)

	if i%s.updateEvery[2] == 0 {
		upd := g.event(ingestv1.EventType_EVENT_TYPE_SCORE_UPDATE, updateFollows(create))
		upd.Score = &ingestv1.ScoreBody{
			Id:        body.GetId(),
			TraceId:   body.GetTraceId(),
			SessionId: body.SessionId,
			Comment:   proto.String("revised by a reviewer"),
			Metadata:  map[string]string{"revision": "2"},
		}
		if body.GetDataType() == commonv1.ScoreDataType_SCORE_DATA_TYPE_NUMERIC {
			upd.Score.Value = proto.Float64(body.GetValue() + 0.125)
		}
		g.updates = append(g.updates, upd)
	}
}

// typeName is "generation" for OBSERVATION_TYPE_GENERATION.
func typeName(t commonv1.ObservationType) string {
	const prefix = len("OBSERVATION_TYPE_")
	name := []byte(t.String()[prefix:])
	for k, c := range name {
		if c >= 'A' && c <= 'Z' {
			name[k] = c + 'a' - 'A'
		}
	}
	return string(name)
}

func jsonValue(v map[string]any) *structpb.Value {
	s, err := structpb.NewStruct(v)
	if err != nil {
		panic(err) // fixture literals only
	}
	return structpb.NewStructValue(s)
}

// allEvents is every distinct event of the fixture.
func (f *fixture) allEvents() []*ingestv1.IngestEvent {
	var out []*ingestv1.IngestEvent
	for _, b := range f.batches {
		out = append(out, b...)
	}
	return out
}
