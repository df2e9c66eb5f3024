package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
)

// TestBadInput sends what a buggy or hostile client would and checks each
// gets the documented error, while the good events of a mixed batch land.
func TestBadInput(t *testing.T) {
	s := requireStack(t)
	key := s.bootstrap(t, "e2e-bad-input", "bad-input")
	c := s.rest(key.basic())

	t.Run("malformed JSON", func(t *testing.T) {
		for name, body := range map[string]string{
			"truncated":        `{"batch": [{"id": "x",`,
			"not an object":    `[1, 2, 3]`,
			"wrong field type": `{"batch": "events"}`,
		} {
			r, _ := c.ingestRaw(t, []byte(body))
			checkError(t, name, r, http.StatusBadRequest, "INVALID_ARGUMENT")
		}
	})

	// Unknown JSON is ignored (the REST conventions), unknown enum names
	// included: the event then lacks its type and is rejected on its own.
	t.Run("unknown enum name", func(t *testing.T) {
		r, out := c.ingestRaw(t, []byte(`{"batch": [{"id": "e", "type": "EVENT_TYPE_NOPE"}]}`))
		if r.status != http.StatusBadRequest || len(out.GetResults()) != 1 || out.GetResults()[0].GetField() != "type" {
			t.Errorf("want 400 with the event rejected on field type, got %s", r)
		}
	})

	t.Run("body over the limit", func(t *testing.T) {
		big := strings.Repeat("x", maxBodyBytes+maxBodyBytes/2)
		body, err := wireJSON.Marshal(&ingestv1.IngestBatchRequest{Batch: []*ingestv1.IngestEvent{{
			Id: "too-big", Type: ingestv1.EventType_EVENT_TYPE_TRACE_CREATE,
			Trace: &ingestv1.TraceBody{Id: id(16, "too-big"), Input: structpb.NewStringValue(big)},
		}}})
		if err != nil {
			t.Fatal(err)
		}
		r, _ := c.ingestRaw(t, body)
		if r.status != http.StatusRequestEntityTooLarge {
			t.Fatalf("want 413, got %s", r)
		}
		checkError(t, "body over the limit", r, http.StatusRequestEntityTooLarge, r.errorCode())
	})

	t.Run("empty batch", func(t *testing.T) {
		for _, body := range []string{`{}`, `{"batch": []}`} {
			r, _ := c.ingestRaw(t, []byte(body))
			checkError(t, "empty batch "+body, r, http.StatusBadRequest, "INVALID_ARGUMENT")
		}
	})

	t.Run("batch over the max length", func(t *testing.T) {
		events := make([]*ingestv1.IngestEvent, maxBatch+1)
		for i := range events {
			events[i] = probeEvents("too-many")[0]
		}
		r, _ := c.ingest(t, events)
		checkError(t, "batch over the max length", r, http.StatusBadRequest, "INVALID_ARGUMENT")
	})

	t.Run("mixed batch", func(t *testing.T) {
		testMixedBatch(t, c, key)
	})

	t.Run("nothing bad landed", func(t *testing.T) {
		var list queryv1.ListTracesResponse
		c.mustGet(t, "/api/v1/traces?"+url.Values{"page_size": {"1000"}}.Encode(), &list)
		for _, tr := range list.GetTraces() {
			if tr.GetId() == id(16, "too-big") || tr.GetName() == "all-bad" {
				t.Errorf("a trace of a refused request was stored: %v", tr)
			}
		}
	})
}

// errorCode is the code of an error answer, whatever it is.
func (r response) errorCode() string {
	var e apiError
	_ = json.Unmarshal(r.body, &e)
	return e.Error.Code
}

// testMixedBatch sends good and bad events together: 207, a result per
// event naming the field at fault, and the good events stored.
func testMixedBatch(t *testing.T, c *restClient, key apiKey) {
	now := time.Now().UTC().Add(-time.Minute)
	ts := func(d time.Duration) *timestamppb.Timestamp { return timestamppb.New(now.Add(d)) }
	tid := id(16, "mixed")
	obs := func(oid string) *ingestv1.ObservationBody {
		return &ingestv1.ObservationBody{
			Id: oid, TraceId: tid, Type: commonv1.ObservationType_OBSERVATION_TYPE_SPAN,
			Name: proto.String("step"), StartTime: ts(time.Millisecond), EndTime: ts(2 * time.Millisecond),
			Level: commonv1.ObservationLevel_OBSERVATION_LEVEL_DEFAULT,
		}
	}
	noTrace := obs(id(8, "no-trace"))
	noTrace.TraceId = ""
	badEnum := obs(id(8, "bad-enum"))
	badEnum.Type = commonv1.ObservationType(99)
	endFirst := obs(id(8, "end-first"))
	endFirst.EndTime = ts(0)

	ev := func(eid string, typ ingestv1.EventType) *ingestv1.IngestEvent {
		return &ingestv1.IngestEvent{Id: eid, Timestamp: ts(0), Type: typ}
	}
	goodTrace := ev("mixed-trace", ingestv1.EventType_EVENT_TYPE_TRACE_CREATE)
	goodTrace.Trace = &ingestv1.TraceBody{Id: tid, Name: proto.String("mixed"), Timestamp: ts(0), Environment: proto.String("production")}
	goodObs := ev("mixed-obs", ingestv1.EventType_EVENT_TYPE_OBSERVATION_CREATE)
	goodObs.Observation = obs(id(8, "good"))
	goodScore := ev("mixed-score", ingestv1.EventType_EVENT_TYPE_SCORE_CREATE)
	goodScore.Score = &ingestv1.ScoreBody{Id: id(16, "good-score"), TraceId: tid, Name: proto.String("ok"),
		DataType: commonv1.ScoreDataType_SCORE_DATA_TYPE_BOOLEAN, Value: proto.Float64(1),
		Source: commonv1.ScoreSource_SCORE_SOURCE_API, Timestamp: ts(3 * time.Millisecond), Environment: proto.String("production")}

	bad := func(eid string, typ ingestv1.EventType, set func(*ingestv1.IngestEvent)) *ingestv1.IngestEvent {
		e := ev(eid, typ)
		set(e)
		return e
	}
	obsCreate := ingestv1.EventType_EVENT_TYPE_OBSERVATION_CREATE
	cases := []struct {
		event *ingestv1.IngestEvent
		field string // "" for a good event
	}{
		{goodTrace, ""},
		{bad("no-trace-id", obsCreate, func(e *ingestv1.IngestEvent) { e.Observation = noTrace }), "observation.trace_id"},
		{goodObs, ""},
		{bad("bad-enum", obsCreate, func(e *ingestv1.IngestEvent) { e.Observation = badEnum }), "observation.type"},
		{bad("end-before-start", obsCreate, func(e *ingestv1.IngestEvent) { e.Observation = endFirst }), "observation.end_time"},
		{bad("bad-boolean", ingestv1.EventType_EVENT_TYPE_SCORE_CREATE, func(e *ingestv1.IngestEvent) {
			e.Score = proto.CloneOf(goodScore.Score)
			e.Score.Id = id(16, "bad-score")
			e.Score.Value = proto.Float64(0.5)
		}), "score.value"},
		{bad("", ingestv1.EventType_EVENT_TYPE_TRACE_CREATE, func(e *ingestv1.IngestEvent) {
			e.Trace = &ingestv1.TraceBody{Id: id(16, "no-event-id")}
		}), "id"},
		{goodScore, ""},
	}
	var events []*ingestv1.IngestEvent
	for _, tc := range cases {
		events = append(events, tc.event)
	}
	r, out := c.ingest(t, events)
	if r.status != http.StatusMultiStatus || out == nil {
		t.Fatalf("mixed batch: want 207 with an IngestBatchResponse, got %s", r)
	}
	if out.GetAccepted() != 3 || out.GetRejected() != int32(len(cases)-3) || len(out.GetResults()) != len(cases) {
		t.Fatalf("mixed batch: want 3 accepted and %d rejected, one result per event; got %s", len(cases)-3, r)
	}
	for i, tc := range cases {
		res := out.GetResults()[i]
		wantID := tc.event.GetId()
		if wantID == "" {
			wantID = "#" + strconv.Itoa(i)
		}
		if res.GetIndex() != int32(i) || res.GetId() != wantID {
			t.Errorf("result %d: want index %d id %q, got %v", i, i, wantID, res)
		}
		switch {
		case tc.field == "" && (!res.GetAccepted() || res.GetError() != "" || res.GetField() != ""):
			t.Errorf("result %d (%s): want accepted, got %v", i, wantID, res)
		case tc.field != "" && (res.GetAccepted() || res.GetField() != tc.field || res.GetError() == ""):
			t.Errorf("result %d (%s): want rejected on field %q with a message, got %v", i, wantID, tc.field, res)
		}
	}

	// Only the good events land.
	w := merge(key.ProjectID, []*ingestv1.IngestEvent{goodTrace, goodObs, goodScore})
	eventually(t, "good events of the mixed batch visible", visibleTimeout, func() problems {
		var p problems
		var got queryv1.GetTraceResponse
		if err := c.get(t, "/api/v1/traces/"+tid, &got); err != nil {
			p.check(err)
			return p
		}
		checkTrace(&p, "GetTrace of the mixed batch's trace", w.getTrace(tid), &got)
		return p
	})

	// A batch with no good event at all is a 400 that still lists every event.
	allBad := []*ingestv1.IngestEvent{
		bad("all-bad-1", obsCreate, func(e *ingestv1.IngestEvent) { e.Observation = noTrace }),
		bad("all-bad-2", ingestv1.EventType_EVENT_TYPE_TRACE_CREATE, func(e *ingestv1.IngestEvent) {
			e.Trace = &ingestv1.TraceBody{Name: proto.String("all-bad")} // no trace id
		}),
	}
	r, out = c.ingest(t, allBad)
	if r.status != http.StatusBadRequest || out == nil || out.GetAccepted() != 0 || out.GetRejected() != 2 || len(out.GetResults()) != 2 {
		t.Errorf("batch of only bad events: want 400 with an IngestBatchResponse rejecting both, got %s", r)
	}
}
