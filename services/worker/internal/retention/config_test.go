package retention_test

import (
	"testing"
	"time"

	"github.com/agenttrace/agenttrace/services/worker/internal/retention"
)

func TestConfig(t *testing.T) {
	tests := []struct {
		interval time.Duration
		valid    bool
		enabled  bool
	}{
		{time.Hour, true, true},
		{0, true, false},
		{-time.Second, false, false},
	}
	for _, tt := range tests {
		c := retention.Config{Interval: tt.interval}
		if err := c.Validate(); (err == nil) != tt.valid {
			t.Errorf("Validate(%v) = %v, want valid=%v", tt.interval, err, tt.valid)
		}
		if c.Enabled() != tt.enabled {
			t.Errorf("Enabled(%v) = %v", tt.interval, c.Enabled())
		}
	}
}

func TestExpiredTotal(t *testing.T) {
	e := retention.Expired{Rows: map[string]uint64{"traces": 2, "observations": 5, "scores": 0}}
	if e.Total() != 7 || (retention.Expired{}).Total() != 0 {
		t.Errorf("Total = %d", e.Total())
	}
}
