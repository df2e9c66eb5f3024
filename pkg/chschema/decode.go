package chschema

import (
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/agenttrace/agenttrace/pkg/chschema/jsonvalue"
	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
)

// The stored encodings, read side: the inverse of encode.go.

// Timestamp decodes stored nanoseconds at full precision; 0 is unset (nil).
func Timestamp(ns uint64) *timestamppb.Timestamp {
	if ns == 0 {
		return nil
	}
	return &timestamppb.Timestamp{Seconds: int64(ns / 1e9), Nanos: int32(ns % 1e9)}
}

// JSONValue decodes the protojson text of a google.protobuf.Value; "" is
// unset (nil). Text that does not parse (written by something other than
// the worker) is returned as a string value rather than failing the read.
// jsonvalue reads what protojson reads, several times faster, which matters
// for a trace of thousands of observations.
func JSONValue(text string) *structpb.Value {
	if text == "" {
		return nil
	}
	v, err := jsonvalue.Parse(text)
	if err != nil {
		return structpb.NewStringValue(text)
	}
	return v
}

// enumNumber decodes a stored enum name of d; unknown names (and "") read
// as the zero value.
func enumNumber(s string, d protoreflect.EnumDescriptor) protoreflect.EnumNumber {
	if s == "" {
		return 0
	}
	if v := d.Values().ByName(protoreflect.Name(enumPrefix(d) + s)); v != nil {
		return v.Number()
	}
	return 0
}

// ObservationType decodes a stored observation type.
func ObservationType(s string) commonv1.ObservationType {
	return commonv1.ObservationType(enumNumber(s, commonv1.ObservationType(0).Descriptor()))
}

// ObservationLevel decodes a stored observation level.
func ObservationLevel(s string) commonv1.ObservationLevel {
	return commonv1.ObservationLevel(enumNumber(s, commonv1.ObservationLevel(0).Descriptor()))
}

// ScoreDataType decodes a stored score data type.
func ScoreDataType(s string) commonv1.ScoreDataType {
	return commonv1.ScoreDataType(enumNumber(s, commonv1.ScoreDataType(0).Descriptor()))
}

// ScoreSource decodes a stored score source.
func ScoreSource(s string) commonv1.ScoreSource {
	return commonv1.ScoreSource(enumNumber(s, commonv1.ScoreSource(0).Descriptor()))
}

// Usage decodes merged usage columns, nil when no field is set. A missing
// total is filled by UsageTotal.
func Usage(in, out, total *int64, details map[string]int64) *commonv1.Usage {
	if in == nil && out == nil && total == nil && len(details) == 0 {
		return nil
	}
	return &commonv1.Usage{Input: in, Output: out, Total: UsageTotal(in, out, total), Details: details}
}

// UsageTotal is EffectiveUsageTotal (see there for why it is applied on
// read) for one merged observation.
func UsageTotal(in, out, total *int64) *int64 {
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

// Cost decodes merged cost columns, nil when no field is set.
func Cost(in, out, total *float64) *commonv1.Cost {
	if in == nil && out == nil && total == nil {
		return nil
	}
	return &commonv1.Cost{Input: in, Output: out, Total: total}
}
