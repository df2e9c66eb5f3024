package otlpmap_test

import (
	"encoding/hex"
	"testing"
	"time"
)

// An unfinished span (no end time, which ingest accepts) maps to an
// observation without an end, versioned at its start, so its finished
// export later wins.
func TestUnfinishedSpan(t *testing.T) {
	child := childSpan(1, 100*time.Millisecond, 0, nil)
	child.EndTimeUnixNano = 0
	events := mapOK(t, request(nil, rootSpan(nil), child))
	id := hex.EncodeToString(spanID(1))
	o := observation(t, events, id)
	if o.GetEndTime() != nil {
		t.Errorf("end time = %v, want unset", o.GetEndTime())
	}
	for _, e := range events {
		if e.GetObservation().GetId() == id && uint64(e.GetTimestamp().AsTime().UnixNano()) != at(100*time.Millisecond) {
			t.Errorf("version = %v, want the span's start", e.GetTimestamp().AsTime())
		}
	}
}
