package query

import (
	"time"
	"unicode/utf8"
)

// Search finds a text in the names, inputs and outputs of the versions
// written within a window: a substring search reads every such version, so
// the window is what bounds its cost (and ClickHouse's max_execution_time
// and the caller's deadline, which cancels it, bound its time).
type Search struct {
	Text string
	// From and To bound the versions' event times, in nanoseconds.
	From, To uint64
}

const (
	// maxSearchLen is the longest text a search takes, in characters.
	maxSearchLen = 200
	// maxSearchWindow is the widest window a search reads.
	maxSearchWindow = 31 * 24 * time.Hour
)

// searchOf validates a search for text over the request's time range; nil
// when there is no text. to_time defaults to now.
func searchOf(text string, tr TimeRange, now time.Time) (*Search, error) {
	if text == "" {
		return nil, nil
	}
	switch {
	case utf8.RuneCountInString(text) > maxSearchLen:
		return nil, invalid("search", "must be at most 200 characters")
	case tr.From == 0:
		return nil, invalid("from_time", "is required with search: a search reads every version written in its window")
	}
	to := tr.To
	if to == 0 {
		to = uint64(now.UnixNano())
	}
	if to <= tr.From {
		return nil, invalid("from_time", "must be before now")
	}
	if time.Duration(to-tr.From) > maxSearchWindow {
		return nil, invalid("from_time", "a search covers at most 31 days: narrow from_time and to_time")
	}
	return &Search{Text: text, From: tr.From, To: to}, nil
}
