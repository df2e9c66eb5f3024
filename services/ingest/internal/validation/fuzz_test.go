package validation

import (
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
)

// FuzzValidate feeds arbitrary wire bytes through the decoder and the
// validator: validation must never panic, must return one result per event,
// and everything it accepts must be publishable (marshals) and renderable as
// the JSON the worker stores (protojson succeeds).
func FuzzValidate(f *testing.F) {
	seeds := []*ingestv1.IngestBatchRequest{
		{Batch: []*ingestv1.IngestEvent{traceEvent(), observationEvent(), scoreEvent()}},
		{Batch: []*ingestv1.IngestEvent{{Id: "x", Type: ingestv1.EventType_EVENT_TYPE_OBSERVATION_UPDATE, Observation: &ingestv1.ObservationBody{Id: "o", TraceId: "t"}}}},
		{Batch: []*ingestv1.IngestEvent{{Id: "dup", Type: 1, Trace: &ingestv1.TraceBody{Id: "t"}}, {Id: "dup", Type: 1, Trace: &ingestv1.TraceBody{Id: "t"}}}},
		{Batch: []*ingestv1.IngestEvent{{}}},
		{Batch: []*ingestv1.IngestEvent{{Id: "d", Type: ingestv1.EventType_EVENT_TYPE_TRACE_DELETE, Trace: &ingestv1.TraceBody{Id: "t"}}}},
	}
	for _, s := range seeds {
		b, err := proto.Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x02, 0x18, 0x63})             // one event of unknown type 99
	f.Add([]byte{0x0a, 0x04, 0x12, 0x02, 0x08, 0xff}) // truncated timestamp

	lim := DefaultLimits()
	f.Fuzz(func(t *testing.T, data []byte) {
		var req ingestv1.IngestBatchRequest
		if err := proto.Unmarshal(data, &req); err != nil {
			return
		}
		errs := Batch(req.GetBatch(), lim)
		if len(errs) != len(req.GetBatch()) {
			t.Fatalf("%d results for %d events", len(errs), len(req.GetBatch()))
		}
		for i, ev := range req.GetBatch() {
			if errs[i] == nil && ev.GetType() == ingestv1.EventType_EVENT_TYPE_TRACE_DELETE {
				t.Fatalf("event %d: a client-sent TRACE_DELETE was accepted", i)
			}
			if errs[i] != nil {
				if errs[i].Message == "" {
					t.Fatalf("event %d: rejection without a message", i)
				}
				continue
			}
			if _, err := proto.Marshal(ev); err != nil {
				t.Fatalf("accepted event %d does not marshal: %v", i, err)
			}
			if _, err := protojson.Marshal(ev); err != nil {
				t.Fatalf("accepted event %d does not render as JSON: %v", i, err)
			}
		}
	})
}
