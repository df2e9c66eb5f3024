package chstore

import (
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/agenttrace/agenttrace/pkg/chschema"
	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
)

// timestamp turns stored nanoseconds into a Timestamp at full precision; 0 is unset.
func timestamp(ns uint64) *timestamppb.Timestamp {
	if ns == 0 {
		return nil
	}
	return &timestamppb.Timestamp{Seconds: int64(ns / 1e9), Nanos: int32(ns % 1e9)}
}

// jsonValue reads the stored JSON text of a value (chschema.JSONValue).
func jsonValue(text string) *structpb.Value { return chschema.JSONValue(text) }

// Enums are stored as their names without the type prefix ('' = unset);
// unknown names read as unspecified.

func observationType(s string) commonv1.ObservationType {
	return commonv1.ObservationType(commonv1.ObservationType_value["OBSERVATION_TYPE_"+s])
}

func observationLevel(s string) commonv1.ObservationLevel {
	return commonv1.ObservationLevel(commonv1.ObservationLevel_value["OBSERVATION_LEVEL_"+s])
}

func scoreDataType(s string) commonv1.ScoreDataType {
	return commonv1.ScoreDataType(commonv1.ScoreDataType_value["SCORE_DATA_TYPE_"+s])
}

func scoreSource(s string) commonv1.ScoreSource {
	return commonv1.ScoreSource(commonv1.ScoreSource_value["SCORE_SOURCE_"+s])
}

// usage builds a merged Usage, nil when no field is set. A missing total
// is filled by usageTotal.
func usage(in, out, total *int64, details map[string]int64) *commonv1.Usage {
	if in == nil && out == nil && total == nil && len(details) == 0 {
		return nil
	}
	return &commonv1.Usage{Input: in, Output: out, Total: usageTotal(in, out, total), Details: details}
}

// usageTotal is effectiveUsageTotal (see there for why it is applied on
// read) for one merged observation.
func usageTotal(in, out, total *int64) *int64 {
	switch {
	case total != nil:
		return total
	case in != nil && out != nil:
		sum := *in + *out
		return &sum
	case in != nil:
		return in
	default:
		return out
	}
}

// cost builds a Cost, nil when no field is set.
func cost(in, out, total *float64) *commonv1.Cost {
	if in == nil && out == nil && total == nil {
		return nil
	}
	return &commonv1.Cost{Input: in, Output: out, Total: total}
}
