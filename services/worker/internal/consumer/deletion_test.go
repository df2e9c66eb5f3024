package consumer_test

import (
	"reflect"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	"github.com/agenttrace/agenttrace/services/worker/internal/testinfra"
)

func deleteEvent(id, traceID string) *ingestv1.IngestEvent {
	return &ingestv1.IngestEvent{Id: id, Timestamp: at(time.Hour), Type: ingestv1.EventType_EVENT_TYPE_TRACE_DELETE,
		Trace: &ingestv1.TraceBody{Id: traceID}}
}

func scoreEvent(id, scoreID, traceID string) *ingestv1.IngestEvent {
	return &ingestv1.IngestEvent{Id: id, Timestamp: at(time.Second), Type: ingestv1.EventType_EVENT_TYPE_SCORE_CREATE,
		Score: &ingestv1.ScoreBody{Id: scoreID, TraceId: traceID, Value: proto.Float64(1)}}
}

func obsEvent(id, obsID, traceID string) *ingestv1.IngestEvent {
	return &ingestv1.IngestEvent{Id: id, Timestamp: at(time.Second), Type: ingestv1.EventType_EVENT_TYPE_OBSERVATION_CREATE,
		Observation: &ingestv1.ObservationBody{Id: obsID, TraceId: traceID, Type: 1}}
}

// TestDeletionFollowsStreamOrder publishes, before the consumer starts (so
// that one pull delivers them all): rows of two traces and of another
// project, a deletion of one trace, then the same trace ingested again.
// The rows before the deletion go (though they were still in the buffer);
// the rows after it, other traces and other projects stay.
func TestDeletionFollowsStreamOrder(t *testing.T) {
	h := newHarness(t)
	h.publish(envelope("proj-a",
		traceEvent("ev-1", "tr-1", 0, &ingestv1.TraceBody{Name: proto.String("old")}, false),
		obsEvent("ev-2", "ob-1", "tr-1"), scoreEvent("ev-3", "sc-1", "tr-1"),
		traceEvent("ev-4", "tr-2", 0, &ingestv1.TraceBody{}, false), obsEvent("ev-5", "ob-2", "tr-2"),
	), "m1")
	h.publish(envelope("proj-b", traceEvent("ev-6", "tr-1", 0, &ingestv1.TraceBody{}, false), scoreEvent("ev-7", "sc-b", "tr-1")), "m2")
	h.publish(envelope("proj-a", deleteEvent("del-1", "tr-1")), "m3")
	h.publish(envelope("proj-a", traceEvent("ev-8", "tr-1", 2*time.Hour, &ingestv1.TraceBody{Name: proto.String("new")}, false)), "m4")

	cfg := testConfig()
	cfg.FlushInterval = 500 * time.Millisecond // all four in one buffer unless the consumer splits it
	h.start(cfg, h.conn)
	eventually(t, 15*time.Second, "all messages acked", func() bool {
		return h.metric("agenttrace_worker_messages_total", "outcome", "acked") == 4
	})
	want := []string{
		"observations proj-a tr-2 ev-5",
		"scores proj-b tr-1 ev-7",
		"traces proj-a tr-1 ev-8",
		"traces proj-a tr-2 ev-4",
		"traces proj-b tr-1 ev-6",
	}
	// The consumer acks once the mutation completed (the test waits
	// longer than any mutation of this size takes on the default wait).
	eventually(t, 10*time.Second, "the deletion", func() bool {
		return reflect.DeepEqual(testinfra.RowKeys(t, h.conn), want)
	})
	if n := h.metric("agenttrace_worker_deleted_traces_total", "reason", "request"); n != 1 {
		t.Errorf("deleted_traces{reason=request} = %v, want 1", n)
	}
	if n := h.streamMsgs(h.scfg.DeadLetterStream()); n != 0 {
		t.Errorf("%d messages dead-lettered", n)
	}
}

// TestMixedDeletionEnvelopeIsDeadLettered: ingest never mixes a deletion
// with other events, so such an envelope is corrupt.
func TestMixedDeletionEnvelopeIsDeadLettered(t *testing.T) {
	h := newHarness(t)
	h.start(testConfig(), h.conn)
	h.publish(envelope("proj-a", traceEvent("ev-1", "tr-1", 0, &ingestv1.TraceBody{}, false), deleteEvent("del-1", "tr-1")), "m1")
	eventually(t, 10*time.Second, "the dead letter", func() bool { return h.streamMsgs(h.scfg.DeadLetterStream()) == 1 })
}
