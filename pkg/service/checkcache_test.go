package service

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestCachePassing(t *testing.T) {
	errDown := errors.New("schema missing")
	clock := time.Unix(1000, 0)
	var result error
	calls := 0
	check := cachePassing(func(context.Context) error { calls++; return result }, 30*time.Second, func() time.Time { return clock })

	steps := []struct {
		name      string
		advance   time.Duration
		result    error
		wantErr   error
		wantCalls int
	}{
		{"a failure is reported", 0, errDown, errDown, 1},
		{"and not cached", time.Second, errDown, errDown, 2},
		{"a pass is reported at once", time.Second, nil, nil, 3},
		{"and cached", 10 * time.Second, errDown, nil, 3},
		{"until the ttl ends", 20 * time.Second, errDown, errDown, 4},
		{"a failure clears the cache", time.Second, nil, nil, 5},
		{"cached again", 29 * time.Second, errDown, nil, 5},
	}
	for _, s := range steps {
		clock = clock.Add(s.advance)
		result = s.result
		if err := check(context.Background()); !errors.Is(err, s.wantErr) || (s.wantErr == nil && err != nil) {
			t.Fatalf("%s: check = %v, want %v", s.name, err, s.wantErr)
		}
		if calls != s.wantCalls {
			t.Fatalf("%s: %d calls, want %d", s.name, calls, s.wantCalls)
		}
	}
}
