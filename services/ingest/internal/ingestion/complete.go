package ingestion

import (
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
)

// complete fills the defaults of a valid event in place, so the worker
// stores exactly what ingest acknowledged:
//   - a missing event timestamp becomes the time ingest received the batch
//     (it orders the versions of an object);
//   - a created trace without a timestamp, a created observation without a
//     start time and a created score without a timestamp take the event
//     timestamp, so every object has a time to be listed and filtered by;
//   - a created score without a source comes from the API, and one without a
//     data type is NUMERIC when it has a value, else CATEGORICAL (validation
//     guarantees one of the two is set).
//
// Updates keep unset fields unset: an update must not override what another
// version of the object said.
func complete(ev *ingestv1.IngestEvent, receivedAt *timestamppb.Timestamp) {
	if ev.Timestamp == nil {
		ev.Timestamp = receivedAt
	}
	switch ev.GetType() {
	case ingestv1.EventType_EVENT_TYPE_TRACE_CREATE:
		if t := ev.GetTrace(); t.Timestamp == nil {
			t.Timestamp = ev.Timestamp
		}
		return
	case ingestv1.EventType_EVENT_TYPE_OBSERVATION_CREATE:
		if o := ev.GetObservation(); o.StartTime == nil {
			o.StartTime = ev.Timestamp
		}
		return
	case ingestv1.EventType_EVENT_TYPE_SCORE_CREATE:
	default:
		return
	}
	s := ev.GetScore()
	if s.Timestamp == nil {
		s.Timestamp = ev.Timestamp
	}
	if s.GetSource() == commonv1.ScoreSource_SCORE_SOURCE_UNSPECIFIED {
		s.Source = commonv1.ScoreSource_SCORE_SOURCE_API
	}
	if s.GetDataType() == commonv1.ScoreDataType_SCORE_DATA_TYPE_UNSPECIFIED {
		s.DataType = commonv1.ScoreDataType_SCORE_DATA_TYPE_CATEGORICAL
		if s.Value != nil {
			s.DataType = commonv1.ScoreDataType_SCORE_DATA_TYPE_NUMERIC
		}
	}
}
