package query

import (
	"math"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"
)

// Page sizes.
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
)

// MaxObservationsPageSize bounds a page of GetTrace's observations; it is
// also the page that observations_page_size 0 ("all") reads at most.
const MaxObservationsPageSize = 10_000

func observationsPageSize(n int32) (int, error) {
	switch {
	case n == 0:
		return MaxObservationsPageSize, nil
	case n < 1 || n > MaxObservationsPageSize:
		return 0, invalid("observations_page_size", "must be between 1 and 10000 (0 means all, at most 10000 per page)")
	}
	return int(n), nil
}

// DefaultSessionPageSize is GetSession's page of traces when page_size is 0.
const DefaultSessionPageSize = 100

func sessionPageSize(n int32) (int, error) {
	switch {
	case n == 0:
		return DefaultSessionPageSize, nil
	case n < 1 || n > MaxPageSize:
		return 0, invalid("page_size", "must be between 1 and 1000 (0 means 100)")
	}
	return int(n), nil
}

func pageSize(n int32) (int, error) {
	switch {
	case n == 0:
		return DefaultPageSize, nil
	case n < 1 || n > MaxPageSize:
		return 0, invalid("page_size", "must be between 1 and 1000 (0 means 50)")
	}
	return int(n), nil
}

// maxNanos is the last instant a UInt64 nanosecond timestamp can hold.
var maxNanos = time.Unix(0, 0).Add(time.Duration(math.MaxInt64)) // 2262, well inside UInt64

// nanos converts a filter timestamp; nil is 0 (unbounded).
func nanos(ts *timestamppb.Timestamp, field string) (uint64, error) {
	if ts == nil {
		return 0, nil
	}
	if err := ts.CheckValid(); err != nil {
		return 0, invalid(field, "not a valid timestamp")
	}
	t := ts.AsTime()
	if t.Before(time.Unix(0, 0)) || t.After(maxNanos) {
		return 0, invalid(field, "must be between 1970-01-01 and 2262-04-11")
	}
	return uint64(t.UnixNano()), nil
}

// timeRange reads a [from, to) pair of request fields.
func timeRange(from, to *timestamppb.Timestamp) (TimeRange, error) {
	f, err := nanos(from, "from_time")
	if err != nil {
		return TimeRange{}, err
	}
	t, err := nanos(to, "to_time")
	if err != nil {
		return TimeRange{}, err
	}
	if to != nil && t == 0 {
		return TimeRange{}, invalid("to_time", "must be after 1970-01-01T00:00:00Z")
	}
	if from != nil && to != nil && f >= t {
		return TimeRange{}, invalid("to_time", "must be after from_time")
	}
	return TimeRange{From: f, To: t}, nil
}

// tsNanos reads a stored timestamp back as nanoseconds (0 when unset).
func tsNanos(ts *timestamppb.Timestamp) uint64 {
	if ts == nil {
		return 0
	}
	return uint64(ts.GetSeconds())*1e9 + uint64(ts.GetNanos())
}

// fromNanos is the inverse of tsNanos.
func fromNanos(ns uint64) *timestamppb.Timestamp {
	if ns == 0 {
		return nil
	}
	return &timestamppb.Timestamp{Seconds: int64(ns / 1e9), Nanos: int32(ns % 1e9)}
}
