package cluster

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
)

// load is a light, steady ingest load: one small agent trace (4 events)
// per request, `rate` requests a second, through the gateway's Service,
// as an SDK would send them. It records every acknowledged trace and every
// request that failed.
type load struct {
	a    *api
	cred credential

	mu       sync.Mutex
	acked    []string
	failures []string
	sent     int

	cancel context.CancelFunc
	done   chan struct{}
}

func startLoad(a *api, cred credential, rate int) *load {
	ctx, cancel := context.WithCancel(context.Background())
	l := &load{a: a, cred: cred, cancel: cancel, done: make(chan struct{})}
	go l.run(ctx, rate)
	return l
}

func (l *load) run(ctx context.Context, rate int) {
	defer close(l.done)
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	// At most a few requests in flight: a slow answer must not pile up an
	// unbounded number of goroutines.
	slots := make(chan struct{}, 8)
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		select {
		case slots <- struct{}{}:
		default:
			l.record("", fmt.Errorf("%s: 8 requests already in flight (the API is stalling)", time.Now().Format(time.TimeOnly)))
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			id, batch := agentTrace("load")
			// Each request gets its own deadline; the test's stop does not
			// cut requests short.
			rctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := l.a.ingest(rctx, l.cred, batch)
			if err != nil {
				err = fmt.Errorf("%s: %w", time.Now().Format(time.TimeOnly), err)
			}
			l.record(id, err)
		}()
	}
}

func (l *load) record(id string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sent++
	if err != nil {
		l.failures = append(l.failures, err.Error())
		return
	}
	l.acked = append(l.acked, id)
}

// stop ends the load and waits for the requests in flight.
func (l *load) stop() {
	l.cancel()
	<-l.done
}

// verify stops the load and checks that no request failed and that every
// acknowledged trace can be listed (the worker may still be draining: it
// waits up to two minutes). It returns a summary for the log.
func (l *load) verify(ctx context.Context) (string, error) {
	l.stop()
	l.mu.Lock()
	acked, failures, sent := append([]string(nil), l.acked...), append([]string(nil), l.failures...), l.sent
	l.mu.Unlock()
	var problems []string
	if len(failures) > 0 {
		shown := failures
		if len(shown) > 10 {
			shown = shown[:10]
		}
		problems = append(problems, fmt.Sprintf("%d of %d requests failed, e.g.:\n  %s", len(failures), sent, strings.Join(shown, "\n  ")))
	}
	var missing []string
	err := eventually(ctx, 2*time.Minute, 2*time.Second, func(ctx context.Context) error {
		seen, err := l.a.traceIDs(ctx, l.cred)
		if err != nil {
			return err
		}
		missing = missing[:0]
		for _, id := range acked {
			if !seen[id] {
				missing = append(missing, id)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("%d of %d acknowledged traces not stored", len(missing), len(acked))
		}
		return nil
	})
	if err != nil {
		sort.Strings(missing)
		if len(missing) > 5 {
			missing = missing[:5]
		}
		problems = append(problems, fmt.Sprintf("%v (e.g. %v)", err, missing))
	}
	summary := fmt.Sprintf("%d requests, %d acknowledged traces, %d failed", sent, len(acked), len(failures))
	if len(problems) > 0 {
		return summary, fmt.Errorf("%s", strings.Join(problems, "\n"))
	}
	return summary, nil
}

// capacityWatch samples the release's Deployments while something rolls
// them and records every moment one had fewer available pods than it
// wants: with maxUnavailable 0 that must never happen.
type capacityWatch struct {
	mu      sync.Mutex
	dips    []string
	samples int
	cancel  context.CancelFunc
	done    chan struct{}
}

func (r *run) watchCapacity() *capacityWatch {
	ctx, cancel := context.WithCancel(context.Background())
	w := &capacityWatch{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			var list appsv1.DeploymentList
			if err := r.k.get(ctx, &list, "deployments", "-n", r.ns, "-l", "app.kubernetes.io/instance="+r.release); err == nil {
				w.mu.Lock()
				w.samples++
				for _, d := range list.Items {
					want := int32(1)
					if d.Spec.Replicas != nil {
						want = *d.Spec.Replicas
					}
					if d.Status.AvailableReplicas < want {
						w.dips = append(w.dips, fmt.Sprintf("%s %s: %d of %d available", time.Now().Format(time.TimeOnly), d.Name, d.Status.AvailableReplicas, want))
					}
				}
				w.mu.Unlock()
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
	}()
	return w
}

func (w *capacityWatch) stop() ([]string, int) {
	w.cancel()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.dips, w.samples
}
