package e2e

import (
	"bufio"
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/status"

	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
)

// probe calls something every tick through a drill and counts the answers
// by gRPC code, e.g. a query that must keep working while a dependency is away.
type probe struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	outcomes map[string]int
	failures []string // the first few, with their time
}

func startProbe(t *testing.T, every time.Duration, call func(ctx context.Context) error) *probe {
	ctx, cancel := context.WithCancel(context.Background())
	p := &probe{cancel: cancel, outcomes: map[string]int{}}
	p.wg.Go(func() {
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			cctx, cancel := context.WithTimeout(ctx, drillCallLimit)
			err := call(cctx)
			cancel()
			if ctx.Err() != nil {
				return
			}
			code := status.Code(err).String()
			p.mu.Lock()
			p.outcomes[code]++
			if err != nil && len(p.failures) < 5 {
				p.failures = append(p.failures, time.Now().Format("15:04:05.000")+" "+err.Error())
			}
			p.mu.Unlock()
		}
	})
	t.Cleanup(p.stop)
	return p
}

func (p *probe) stop() {
	p.cancel()
	p.wg.Wait()
}

// results stops the probe and returns its counts: calls, failed calls, a
// summary by code and the first failures.
func (p *probe) results() (calls, failed int, summary string, failures []string) {
	p.stop()
	p.mu.Lock()
	defer p.mu.Unlock()
	codes := slices.Sorted(maps.Keys(p.outcomes))
	parts := make([]string, len(codes))
	for i, c := range codes {
		parts[i] = fmt.Sprintf("%s %d", c, p.outcomes[c])
		calls += p.outcomes[c]
		if c != "OK" {
			failed += p.outcomes[c]
		}
	}
	return calls, failed, strings.Join(parts, ", "), slices.Clone(p.failures)
}

// listTracesProbe lists one page of the drill's traces on a query service.
func listTracesProbe(q queryv1.QueryServiceClient, key apiKey) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		_, err := q.ListTraces(withKey(ctx, key), &queryv1.ListTracesRequest{PageSize: 10})
		return err
	}
}

// metric reads one unlabelled sample (or the sum of a labelled one's
// series) from a process's /metrics.
func metric(adminAddr, name string) (float64, error) {
	resp, err := http.Get("http://" + adminAddr + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var sum float64
	found := false
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		fields := strings.Fields(line)
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil {
			return 0, fmt.Errorf("metric %s: %q: %w", name, line, err)
		}
		sum += v
		found = true
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	if !found {
		return 0, fmt.Errorf("metric %s not exported by %s", name, adminAddr)
	}
	return sum, nil
}

// waitMetric polls a metric until ok says yes or the bound passes, and
// returns how long that took.
func waitMetric(t *testing.T, adminAddr, name string, bound time.Duration, ok func(float64) bool) (time.Duration, bool) {
	t.Helper()
	start := time.Now()
	for {
		v, err := metric(adminAddr, name)
		if err == nil && ok(v) {
			return time.Since(start), true
		}
		if time.Since(start) > bound {
			t.Logf("%s on %s: %v (err %v) after %s", name, adminAddr, v, err, bound)
			return time.Since(start), false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// statusLabel names a call's gRPC outcome.
func statusLabel(err error) string { return status.Code(err).String() }
