package consumer

import (
	"testing"
	"time"
)

// While the store is away the consumer's pause doubles from RetryBackoff
// to storeRetryMax, whatever a message's own redelivery count.
func TestStorePause(t *testing.T) {
	c := &Consumer{cfg: Config{RetryBackoff: time.Second, RetryBackoffMax: time.Minute}}
	var got []time.Duration
	for range 6 {
		c.storeFailures++
		got = append(got, c.storePause())
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second, 5 * time.Second}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("pauses = %v, want %v", got, want)
		}
	}
	// A RetryBackoff above the cap is kept as it is.
	c = &Consumer{cfg: Config{RetryBackoff: 8 * time.Second}, storeFailures: 3}
	if p := c.storePause(); p != 8*time.Second {
		t.Errorf("pause with an 8 s backoff = %v, want 8s", p)
	}
}
