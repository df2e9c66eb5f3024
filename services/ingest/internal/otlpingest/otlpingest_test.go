package otlpingest

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// recordingPublisher is the domain's Publisher answering with err.
type recordingPublisher struct {
	err   error
	calls []*coltracepb.ExportTraceServiceRequest
	raws  [][]byte
	at    []*timestamppb.Timestamp
	block bool // wait for the context before answering err
}

func (p *recordingPublisher) PublishExport(ctx context.Context, projectID string, at *timestamppb.Timestamp, exp Export) error {
	if projectID != "proj" {
		return errors.New("wrong project " + projectID)
	}
	req, err := exp.Request()
	if err != nil {
		return err
	}
	p.calls = append(p.calls, req)
	p.raws = append(p.raws, exp.Raw)
	p.at = append(p.at, at)
	if p.block {
		<-ctx.Done()
	}
	return p.err
}

func TestExport(t *testing.T) {
	bad := goodSpan(9)
	bad.SpanId = nil
	now := time.Unix(1_800_000_000, 0)
	tests := []struct {
		name        string
		req         *coltracepb.ExportTraceServiceRequest
		pubErr      error
		transport   string
		want        Outcome
		wantErr     error
		wantPublish []byte // span id ends of the published spans; nil: no publish
		wantMetrics map[string]float64
	}{
		{
			name: "all valid", req: request(goodSpan(1), goodSpan(2)), transport: TransportGRPC,
			want: Outcome{Accepted: 2}, wantPublish: []byte{1, 2},
			wantMetrics: map[string]float64{"grpc/accepted": 1, "spans/accepted": 2},
		},
		{
			name: "partial", req: request(goodSpan(1), bad), transport: TransportHTTP,
			want:        Outcome{Accepted: 1, Rejected: 1, Message: "rejected 1 of 2 spans; resource_spans[0].scope_spans[0].spans[1]: span_id: must be 8 bytes, got 0"},
			wantPublish: []byte{1},
			wantMetrics: map[string]float64{"http/partial": 1, "spans/accepted": 1, "spans/rejected": 1},
		},
		{
			name: "all invalid: nothing published, still an answer", req: request(bad, bad), transport: TransportGRPC,
			want:        Outcome{Rejected: 2, Message: "rejected 2 of 2 spans; resource_spans[0].scope_spans[0].spans[0]: span_id: must be 8 bytes, got 0; resource_spans[0].scope_spans[0].spans[1]: span_id: must be 8 bytes, got 0"},
			wantMetrics: map[string]float64{"grpc/rejected": 1, "spans/rejected": 2},
		},
		{
			name: "empty", req: &coltracepb.ExportTraceServiceRequest{}, transport: "anything else counts as grpc",
			want: Outcome{}, wantMetrics: map[string]float64{"grpc/accepted": 1},
		},
		{
			name: "stream down", req: request(goodSpan(1), bad), pubErr: errors.New("nats: timeout"), transport: TransportHTTP,
			wantErr: ErrUnavailable, wantPublish: []byte{1},
			wantMetrics: map[string]float64{"http/unavailable": 1, "spans/unavailable": 1, "spans/rejected": 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			m, err := NewMetrics(reg)
			if err != nil {
				t.Fatal(err)
			}
			pub := &recordingPublisher{err: tt.pubErr}
			svc := NewService(Config{Publisher: pub, Limits: DefaultLimits(), Metrics: m, Now: func() time.Time { return now }})

			raw, err := proto.Marshal(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			got, err := svc.Export(context.Background(), "proj", tt.transport, tt.req, raw)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("outcome = %+v, want %+v", got, tt.want)
			}
			switch {
			case tt.wantPublish == nil && len(pub.calls) > 0:
				t.Errorf("published %v", pub.calls)
			case tt.wantPublish != nil:
				if len(pub.calls) != 1 {
					t.Fatalf("%d publish calls, want 1", len(pub.calls))
				}
				var ends []byte
				for _, s := range pub.calls[0].GetResourceSpans()[0].GetScopeSpans()[0].GetSpans() {
					ends = append(ends, s.GetSpanId()[7])
				}
				if string(ends) != string(tt.wantPublish) {
					t.Errorf("published spans %v, want %v", ends, tt.wantPublish)
				}
				// The bytes as received stand for the request only when
				// no span was left out of it.
				allValid := len(tt.wantPublish) == len(tt.req.GetResourceSpans()[0].GetScopeSpans()[0].GetSpans())
				if allValid && !bytes.Equal(pub.raws[0], raw) {
					t.Error("the request's bytes as received were not handed to the publisher")
				}
				if !allValid && pub.raws[0] != nil {
					t.Error("bytes holding rejected spans were handed to the publisher")
				}
				if !pub.at[0].AsTime().Equal(now) {
					t.Errorf("received_at %v, want %v", pub.at[0].AsTime(), now)
				}
			}
			checkMetrics(t, m, tt.wantMetrics)
		})
	}
}

// checkMetrics compares every series with want ("grpc/partial" for
// requests, "spans/accepted" for spans; absent means 0).
func checkMetrics(t *testing.T, m *Metrics, want map[string]float64) {
	t.Helper()
	for _, tr := range []string{TransportGRPC, TransportHTTP} {
		for _, o := range requestOutcomes {
			if got := testutil.ToFloat64(m.requests.WithLabelValues(tr, o)); got != want[tr+"/"+o] {
				t.Errorf("requests{%s,%s} = %v, want %v", tr, o, got, want[tr+"/"+o])
			}
		}
	}
	for _, o := range []string{spanAccepted, spanRejected, spanUnavailable} {
		if got := testutil.ToFloat64(m.spans.WithLabelValues(o)); got != want["spans/"+o] {
			t.Errorf("spans{%s} = %v, want %v", o, got, want["spans/"+o])
		}
	}
}

func TestExportCanceledWhilePublishing(t *testing.T) {
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	pub := &recordingPublisher{err: errors.New("waiting for acknowledgement"), block: true}
	svc := NewService(Config{Publisher: pub, Limits: DefaultLimits(), Metrics: m})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = svc.Export(ctx, "proj", TransportGRPC, request(goodSpan(1)), nil)
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrUnavailable) {
		t.Errorf("err = %v, want the context's error", err)
	}
	checkMetrics(t, m, map[string]float64{"grpc/canceled": 1, "spans/unavailable": 1})
}

func TestExportWithoutMetrics(t *testing.T) {
	svc := NewService(Config{Publisher: &recordingPublisher{}, Limits: DefaultLimits()})
	if _, err := svc.Export(context.Background(), "proj", TransportGRPC, request(goodSpan(1)), nil); err != nil {
		t.Fatal(err)
	}
}

func TestNewMetricsTwiceFails(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := NewMetrics(reg); err != nil {
		t.Fatal(err)
	}
	if _, err := NewMetrics(reg); err == nil || !strings.Contains(err.Error(), "register otlp metrics") {
		t.Errorf("second registration: %v", err)
	}
}

func TestPublishedRequestIsValidOnly(t *testing.T) {
	bad := goodSpan(9)
	bad.StartTimeUnixNano = 0
	req := request(goodSpan(1), bad, goodSpan(2))
	pub := &recordingPublisher{}
	svc := NewService(Config{Publisher: pub, Limits: DefaultLimits()})
	raw, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Export(context.Background(), "proj", TransportGRPC, req, raw); err != nil {
		t.Fatal(err)
	}
	want := request(goodSpan(1), goodSpan(2))
	if !proto.Equal(pub.calls[0], want) {
		t.Errorf("published %v, want %v", pub.calls[0], want)
	}
	if pub.raws[0] != nil {
		t.Error("the bytes as received, rejected span included, were handed to the publisher")
	}
}

func TestExportOfBytes(t *testing.T) {
	valid, err := proto.Marshal(request(goodSpan(1), goodSpan(2)))
	if err != nil {
		t.Fatal(err)
	}
	// A field of a newer schema: Scan leaves it to the decoder, which
	// finds both spans valid, so the bytes are still published as they are.
	unusual := protowire.AppendVarint(protowire.AppendTag(slices.Clone(valid), 99, protowire.VarintType), 1)
	accepted := map[string]float64{"http/accepted": 1, "spans/accepted": 2}
	tests := []struct {
		name        string
		raw         []byte
		wantErr     error
		want        Outcome
		wantMetrics map[string]float64
	}{
		{"scanned", valid, nil, Outcome{Accepted: 2}, accepted},
		{"decoded", unusual, nil, Outcome{Accepted: 2}, accepted},
		// Counted as a call, with no spans (none could be read).
		{"malformed", valid[:len(valid)-1], ErrMalformed, Outcome{}, map[string]float64{"http/malformed": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := NewMetrics(prometheus.NewRegistry())
			if err != nil {
				t.Fatal(err)
			}
			pub := &recordingPublisher{}
			svc := NewService(Config{Publisher: pub, Limits: DefaultLimits(), Metrics: m})
			got, err := svc.Export(context.Background(), "proj", TransportHTTP, nil, tt.raw)
			if !errors.Is(err, tt.wantErr) || got != tt.want {
				t.Fatalf("Export = %+v, %v; want %+v, %v", got, err, tt.want, tt.wantErr)
			}
			checkMetrics(t, m, tt.wantMetrics)
			if tt.wantErr != nil {
				if len(pub.calls) > 0 {
					t.Error("a malformed request was published")
				}
				return
			}
			if len(pub.raws) != 1 || !bytes.Equal(pub.raws[0], tt.raw) {
				t.Errorf("published %d times, bytes as received: %v", len(pub.raws), len(pub.raws) == 1 && bytes.Equal(pub.raws[0], tt.raw))
			}
		})
	}
}
