package lastused

import (
	"context"
	"errors"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recorder is a Writer that keeps every batch and can be told to fail.
type recorder struct {
	mu      sync.Mutex
	batches []map[uuid.UUID]time.Time
	fail    error
	written chan struct{}
}

func (r *recorder) write(_ context.Context, uses map[uuid.UUID]time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.batches = append(r.batches, maps.Clone(uses))
	if r.written != nil {
		select {
		case r.written <- struct{}{}:
		default:
		}
	}
	return nil
}

func (r *recorder) all() []map[uuid.UUID]time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.batches
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func TestRecordAtMostOncePerGranularity(t *testing.T) {
	rec := &recorder{}
	clk := &clock{now: time.Unix(1_700_000_000, 0)}
	tr := New(Config{Write: rec.write, Granularity: time.Minute, Now: clk.Now})
	a, b := uuid.New(), uuid.New()
	t0 := clk.Now()

	tr.Record(a)
	clk.Advance(10 * time.Second)
	tr.Record(a) // within the minute: ignored
	tr.Record(b)
	tr.Flush(context.Background())
	tr.Flush(context.Background()) // nothing pending: no write

	clk.Advance(50 * time.Second)
	tr.Record(a) // a minute after the first: recorded
	tr.Record(b) // 50s after b's first: ignored
	tr.Flush(context.Background())

	got := rec.all()
	want := []map[uuid.UUID]time.Time{
		{a: t0, b: t0.Add(10 * time.Second)},
		{a: t0.Add(time.Minute)},
	}
	if len(got) != len(want) {
		t.Fatalf("batches = %v, want %v", got, want)
	}
	for i := range want {
		if !maps.EqualFunc(got[i], want[i], time.Time.Equal) {
			t.Fatalf("batch %d = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestFailedFlushIsRetried(t *testing.T) {
	rec := &recorder{fail: errors.New("database down")}
	clk := &clock{now: time.Unix(1_700_000_000, 0)}
	tr := New(Config{Write: rec.write, Granularity: time.Minute, Now: clk.Now})
	a := uuid.New()
	tr.Record(a)
	tr.Flush(context.Background())
	clk.Advance(2 * time.Minute)
	tr.Record(a) // newer use while the first write is pending
	rec.mu.Lock()
	rec.fail = nil
	rec.mu.Unlock()
	tr.Flush(context.Background())
	got := rec.all()
	if len(got) != 1 || !got[0][a].Equal(clk.Now()) {
		t.Fatalf("batches = %v, want one with the newest use", got)
	}
}

func TestRecordDoesNotGrowWithoutBound(t *testing.T) {
	rec := &recorder{}
	clk := &clock{now: time.Unix(1_700_000_000, 0)}
	tr := New(Config{Write: rec.write, Granularity: time.Minute, Now: clk.Now})
	for range 100 {
		tr.Record(uuid.New())
	}
	clk.Advance(time.Minute)
	tr.Flush(context.Background())
	tr.mu.Lock()
	n := len(tr.recorded) + len(tr.pending)
	tr.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d entries kept after their window passed", n)
	}
}

// Run flushes on its ticker and once more when stopped, then returns.
func TestRunFlushesPeriodicallyAndAtShutdown(t *testing.T) {
	rec := &recorder{written: make(chan struct{}, 1)}
	tr := New(Config{Write: rec.write, FlushEvery: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- tr.Run(ctx) }()

	tr.Record(uuid.New())
	select {
	case <-rec.written:
	case <-time.After(5 * time.Second):
		t.Fatal("no periodic flush")
	}
	last := uuid.New()
	tr.Record(last)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
	var flushed bool
	for _, b := range rec.all() {
		_, ok := b[last]
		flushed = flushed || ok
	}
	if !flushed {
		t.Fatal("the use recorded before shutdown was not written")
	}
}
