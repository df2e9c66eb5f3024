package e2e

import (
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

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
)

// The steady load of a drill: senders that each post a batch of numbered
// trace-create events every tick. Every event is a trace of its own, with
// a unique id, so that what the platform stored can be counted exactly.
const (
	drillSenders   = 4
	drillTick      = 100 * time.Millisecond // per sender: 40 batches/s in all
	drillBatch     = 10                     // events per batch: 400 events/s
	drillCallLimit = 10 * time.Second       // a call that takes longer counts as failed
)

// outcome is what one batch came to: acknowledged (every event accepted)
// or not, with a label for the figures ("OK", "UNAVAILABLE", "503 UNAVAILABLE").
type outcome struct {
	acked bool
	label string
	// problem is set when the answer broke the API's contract (e.g. a 503
	// without Retry-After, or a success that did not accept every event).
	problem string
}

// sender posts one batch.
type sender func(ctx context.Context, events []*ingestv1.IngestEvent) outcome

// grpcSender posts to ingest's IngestBatch as key.
func grpcSender(c ingestv1.IngestServiceClient, key apiKey) sender {
	return func(ctx context.Context, events []*ingestv1.IngestEvent) outcome {
		out, err := c.IngestBatch(withKey(ctx, key), &ingestv1.IngestBatchRequest{Batch: events})
		if err != nil {
			label := status.Code(err).String()
			if status.Code(err) == codes.Unavailable && !hasRetryInfo(err) {
				// Not ingest's answer: the call did not reach it.
				label += " (no RetryInfo)"
			}
			return outcome{label: label}
		}
		return acceptedAll(out, len(events), "OK")
	}
}

func hasRetryInfo(err error) bool {
	for _, d := range status.Convert(err).Details() {
		if _, ok := d.(*errdetails.RetryInfo); ok {
			return true
		}
	}
	return false
}

// restSender posts to the gateway's /api/v1/ingestion.
func restSender(c *restClient) sender {
	return func(ctx context.Context, events []*ingestv1.IngestEvent) outcome {
		body, err := wireJSON.Marshal(&ingestv1.IngestBatchRequest{Batch: events})
		if err != nil {
			return outcome{label: "encode", problem: err.Error()}
		}
		r, err := c.request(ctx, http.MethodPost, "/api/v1/ingestion", body)
		if err != nil {
			return outcome{label: "transport error"}
		}
		if r.status == http.StatusOK {
			var out ingestv1.IngestBatchResponse
			if err := strictJSON.Unmarshal(r.body, &out); err != nil {
				return outcome{label: "200 undecodable", problem: err.Error()}
			}
			return acceptedAll(&out, len(events), "200")
		}
		o := outcome{label: fmt.Sprintf("%d %s", r.status, r.errorCode())}
		if (r.status == http.StatusServiceUnavailable || r.status == http.StatusTooManyRequests) && r.header.Get("Retry-After") == "" {
			o.problem = fmt.Sprintf("%d without Retry-After: %s", r.status, r)
		}
		return o
	}
}

func acceptedAll(out *ingestv1.IngestBatchResponse, n int, label string) outcome {
	if int(out.GetAccepted()) != n || out.GetRejected() != 0 {
		return outcome{label: label + " partial", problem: fmt.Sprintf("%d of %d events accepted, %d rejected", out.GetAccepted(), n, out.GetRejected())}
	}
	return outcome{acked: true, label: label}
}

// load is a drill's steady stream of numbered events and the exact record
// of what came of each batch.
type load struct {
	prefix  string
	send    sender
	stopCh  chan struct{}
	stopped sync.Once
	wg      sync.WaitGroup
	start   time.Time

	mu       sync.Mutex
	next     int
	sent     int                 // events
	acked    map[string]struct{} // trace ids of acknowledged events
	ackTimes []time.Time         // of each acknowledged batch, in order
	outcomes map[string]int      // batches by outcome label
	errTimes []time.Time         // of each batch not acknowledged
	problems []string
}

// startLoad sends batches of numbered events through send until stop.
func startLoad(t *testing.T, prefix string, send sender) *load {
	l := &load{prefix: prefix, send: send, stopCh: make(chan struct{}), start: time.Now(),
		acked: map[string]struct{}{}, outcomes: map[string]int{}}
	for range drillSenders {
		l.wg.Go(func() { l.run(l.stopCh) })
	}
	t.Cleanup(l.stop)
	return l
}

func (l *load) run(stop <-chan struct{}) {
	tick := time.NewTicker(drillTick)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		events, ids := l.batch()
		// A call in flight when the load stops runs to its end: every batch
		// sent has an outcome.
		ctx, cancel := context.WithTimeout(context.Background(), drillCallLimit)
		o := l.send(ctx, events)
		cancel()
		l.record(o, ids)
	}
}

// batch numbers the next drillBatch events.
func (l *load) batch() ([]*ingestv1.IngestEvent, []string) {
	l.mu.Lock()
	first := l.next
	l.next += drillBatch
	l.sent += drillBatch
	l.mu.Unlock()
	now := timestamppb.Now()
	events := make([]*ingestv1.IngestEvent, drillBatch)
	ids := make([]string, drillBatch)
	for i := range events {
		n := first + i
		ids[i] = fmt.Sprintf("%s-%07d", l.prefix, n)
		events[i] = &ingestv1.IngestEvent{
			Id:        ids[i] + "/create",
			Timestamp: now,
			Type:      ingestv1.EventType_EVENT_TYPE_TRACE_CREATE,
			Trace: &ingestv1.TraceBody{Id: ids[i], Timestamp: now, Name: proto.String("drill"),
				Metadata: map[string]string{"n": strconv.Itoa(n)}},
		}
	}
	return events, ids
}

func (l *load) record(o outcome, ids []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.outcomes[o.label]++
	if o.problem != "" && len(l.problems) < 10 {
		l.problems = append(l.problems, o.problem)
	}
	if !o.acked {
		l.errTimes = append(l.errTimes, time.Now())
		return
	}
	l.ackTimes = append(l.ackTimes, time.Now())
	for _, id := range ids {
		l.acked[id] = struct{}{}
	}
}

// stop ends the load once the calls in flight have their answers.
func (l *load) stop() {
	l.stopped.Do(func() { close(l.stopCh) })
	l.wg.Wait()
}

// snapshot is a copy of the load's record.
type loadFigures struct {
	sent, batches int
	acked         map[string]struct{}
	outcomes      map[string]int
	failed        int // batches not acknowledged
	problems      []string
	errTimes      []time.Time
	ackTimes      []time.Time
}

func (l *load) figures() loadFigures {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := loadFigures{sent: l.sent, acked: maps.Clone(l.acked), outcomes: maps.Clone(l.outcomes),
		problems: slices.Clone(l.problems), errTimes: slices.Clone(l.errTimes), ackTimes: slices.Clone(l.ackTimes)}
	for _, n := range l.outcomes {
		f.batches += n
	}
	f.failed = len(l.errTimes)
	return f
}

// ackedBetween counts the batches acknowledged in [from, to).
func (f loadFigures) ackedBetween(from, to time.Time) int {
	n := 0
	for _, at := range f.ackTimes {
		if !at.Before(from) && at.Before(to) {
			n++
		}
	}
	return n
}

// failedBetween counts the batches not acknowledged in [from, to).
func (f loadFigures) failedBetween(from, to time.Time) int {
	n := 0
	for _, at := range f.errTimes {
		if !at.Before(from) && at.Before(to) {
			n++
		}
	}
	return n
}

// firstAckAfter is when the first batch after t was acknowledged.
func (f loadFigures) firstAckAfter(t time.Time) (time.Time, bool) {
	for _, at := range f.ackTimes {
		if at.After(t) {
			return at, true
		}
	}
	return time.Time{}, false
}

// outcomeSummary lists batches by outcome, most frequent first: "OK 812, UNAVAILABLE 40".
func (f loadFigures) outcomeSummary() string {
	labels := slices.SortedFunc(maps.Keys(f.outcomes), func(a, b string) int { return f.outcomes[b] - f.outcomes[a] })
	parts := make([]string, len(labels))
	for i, l := range labels {
		parts[i] = fmt.Sprintf("%s %d", l, f.outcomes[l])
	}
	return strings.Join(parts, ", ")
}

// sendOnce sends one batch of the load's numbering through another sender
// (e.g. with another key), outside the steady load's counts; if it is
// acknowledged, its events join the acknowledged ones that must be stored.
func (l *load) sendOnce(ctx context.Context, send sender) outcome {
	events, ids := l.batch()
	o := send(ctx, events)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sent -= len(ids) // not the steady load's
	if o.acked {
		for _, id := range ids {
			l.acked[id] = struct{}{}
		}
	}
	return o
}
