package ratelimit

import (
	"fmt"
	"time"
)

// Limit is how often something may happen: Rate events per Period on
// average, up to Burst at once.
type Limit struct {
	// Rate is the number of events per Period; 0 disables the limit.
	Rate int
	// Burst is the most events allowed at once; 0 means Rate.
	Burst int
	// Period is the window Rate is counted over; 0 means one second.
	Period time.Duration
}

// PerSecond is a limit of rate events per second with the given burst.
func PerSecond(rate, burst int) Limit {
	return Limit{Rate: rate, Burst: burst, Period: time.Second}
}

// Disabled reports whether the limit allows everything.
func (l Limit) Disabled() bool { return l.Rate <= 0 }

// normalized fills the defaults of Burst and Period.
func (l Limit) normalized() Limit {
	if l.Period <= 0 {
		l.Period = time.Second
	}
	if l.Burst <= 0 {
		l.Burst = l.Rate
	}
	return l
}

// String shows the limit as "100/1s burst 200".
func (l Limit) String() string {
	if l.Disabled() {
		return "unlimited"
	}
	n := l.normalized()
	return fmt.Sprintf("%d/%s burst %d", n.Rate, n.Period, n.Burst)
}

// Result is one decision.
type Result struct {
	// Limit is the limit the decision applied, with defaults filled in.
	Limit Limit
	// Allowed reports whether the event may happen.
	Allowed bool
	// Remaining is how many more events the key could have right now.
	Remaining int
	// RetryAfter is how long to wait before the next event is allowed;
	// 0 when this one was.
	RetryAfter time.Duration
	// ResetAfter is when the key's bucket is full again (Remaining ==
	// Limit.Burst) if nothing more happens.
	ResetAfter time.Duration
	// Local is set when Redis could not answer and the replica's own
	// limiter decided.
	Local bool
}
