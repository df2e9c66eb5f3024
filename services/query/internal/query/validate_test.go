package query_test

import (
	"encoding/base64"
	"testing"

	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"

	. "github.com/agenttrace/agenttrace/services/query/internal/query"
)

func TestInvalidRequests(t *testing.T) {
	svc := New(nil) // every case must be refused before the store is asked
	tracesToken := encodePageToken(digestOf(&queryv1.ListTracesRequest{Name: "a"}, nil), Cursor{TS: 1, ID: "x"})
	raw := func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
	// summed appends a valid checksum, so a case reaches the checks behind it.
	summed := func(b []byte) string { sum := checksum(b); return raw(append(b, sum[:]...)) }
	tampered := func(token string, i int) string {
		b, _ := base64.RawURLEncoding.DecodeString(token)
		b[i] ^= 1
		return raw(b)
	}
	goodDigest := digestOf(&queryv1.ListTracesRequest{}, nil)
	traceAToken := encodePageToken(digestOf(&queryv1.GetTraceRequest{TraceId: "a"}, nil), Cursor{TS: 1, ID: "x"})
	getTrace := func(req *queryv1.GetTraceRequest) func() error {
		return func() error { _, err := svc.GetTrace(ctx, proj, req); return err }
	}
	tests := []struct {
		name  string
		call  func() error
		field string
	}{
		{"page size negative", func() error {
			_, err := svc.ListTraces(ctx, proj, &queryv1.ListTracesRequest{PageSize: -1})
			return err
		}, "page_size"},
		{"page size too big", func() error {
			_, err := svc.ListObservations(ctx, proj, &queryv1.ListObservationsRequest{PageSize: 1001})
			return err
		}, "page_size"},
		{"from equals to", func() error {
			_, err := svc.ListTraces(ctx, proj, &queryv1.ListTracesRequest{FromTime: ts(1), ToTime: ts(1)})
			return err
		}, "to_time"},
		{"from after to", func() error {
			_, err := svc.ListScores(ctx, proj, &queryv1.ListScoresRequest{FromTime: ts(2), ToTime: ts(1)})
			return err
		}, "to_time"},
		{"to at epoch", func() error {
			_, err := svc.ListSessions(ctx, proj, &queryv1.ListSessionsRequest{ToTime: &timestamppb.Timestamp{}})
			return err
		}, "to_time"},
		{"from before epoch", func() error {
			_, err := svc.ListTraces(ctx, proj, &queryv1.ListTracesRequest{FromTime: &timestamppb.Timestamp{Seconds: -1}})
			return err
		}, "from_time"},
		{"invalid timestamp", func() error {
			_, err := svc.ListTraces(ctx, proj, &queryv1.ListTracesRequest{FromTime: &timestamppb.Timestamp{Nanos: -1}})
			return err
		}, "from_time"},
		{"to after 2262", func() error {
			_, err := svc.ListTraces(ctx, proj, &queryv1.ListTracesRequest{ToTime: &timestamppb.Timestamp{Seconds: 1 << 35}})
			return err
		}, "to_time"},
		{"empty tag", func() error {
			_, err := svc.ListTraces(ctx, proj, &queryv1.ListTracesRequest{Tags: []string{"a", ""}})
			return err
		}, "tags"},
		{"unknown type", func() error {
			_, err := svc.ListObservations(ctx, proj, &queryv1.ListObservationsRequest{Type: 99})
			return err
		}, "type"},
		{"unknown level", func() error {
			_, err := svc.ListObservations(ctx, proj, &queryv1.ListObservationsRequest{Level: -1})
			return err
		}, "level"},
		{"unknown source", func() error { _, err := svc.ListScores(ctx, proj, &queryv1.ListScoresRequest{Source: 7}); return err }, "source"},
		{"unknown data type", func() error {
			_, err := svc.ListScores(ctx, proj, &queryv1.ListScoresRequest{DataType: commonv1.ScoreDataType(42)})
			return err
		}, "data_type"},
		{"garbage token", func() error {
			_, err := svc.ListTraces(ctx, proj, &queryv1.ListTracesRequest{PageToken: "!!not base64"})
			return err
		}, "page_token"},
		{"token of other filters", func() error {
			_, err := svc.ListTraces(ctx, proj, &queryv1.ListTracesRequest{Name: "b", PageToken: tracesToken})
			return err
		}, "page_token"},
		{"token of another list", func() error {
			_, err := svc.ListScores(ctx, proj, &queryv1.ListScoresRequest{Name: "a", PageToken: tracesToken})
			return err
		}, "page_token"},
		{"truncated token", func() error {
			_, err := svc.ListTraces(ctx, proj, &queryv1.ListTracesRequest{Name: "a", PageToken: tracesToken[:10]})
			return err
		}, "page_token"},
		{"wrong version", func() error {
			b := append([]byte{9}, goodDigest[:]...)
			b = append(b, make([]byte, 9)...)
			_, err := svc.ListTraces(ctx, proj, &queryv1.ListTracesRequest{PageToken: summed(b)})
			return err
		}, "page_token"},
		{"id length beyond token", func() error {
			b := append([]byte{tokenVersion}, goodDigest[:]...)
			b = append(b, make([]byte, 8)...)
			b = append(b, 50, 'x')
			_, err := svc.ListTraces(ctx, proj, &queryv1.ListTracesRequest{PageToken: summed(b)})
			return err
		}, "page_token"},
		{"id not UTF-8", func() error {
			b := append([]byte{tokenVersion}, goodDigest[:]...)
			b = append(b, make([]byte, 8)...)
			b = append(b, 1, 0xff)
			_, err := svc.ListTraces(ctx, proj, &queryv1.ListTracesRequest{PageToken: summed(b)})
			return err
		}, "page_token"},
		{"no checksum", func() error {
			b := append([]byte{tokenVersion}, goodDigest[:]...)
			b = append(b, make([]byte, 8)...)
			b = append(b, 1, 'x')
			_, err := svc.ListTraces(ctx, proj, &queryv1.ListTracesRequest{PageToken: raw(b)})
			return err
		}, "page_token"},
		{"position tampered", func() error {
			_, err := svc.ListTraces(ctx, proj, &queryv1.ListTracesRequest{Name: "a", PageToken: tampered(tracesToken, 1+digestLen+7)})
			return err
		}, "page_token"},
		{"id tampered", func() error {
			_, err := svc.ListTraces(ctx, proj, &queryv1.ListTracesRequest{Name: "a", PageToken: tampered(tracesToken, 1+digestLen+8+1)})
			return err
		}, "page_token"},
		{"checksum tampered", func() error {
			_, err := svc.ListTraces(ctx, proj, &queryv1.ListTracesRequest{Name: "a", PageToken: tampered(tracesToken, 1+digestLen+8+2)})
			return err
		}, "page_token"},
		{"oversized token", func() error {
			_, err := svc.ListTraces(ctx, proj, &queryv1.ListTracesRequest{PageToken: string(make([]byte, maxTokenLength+1))})
			return err
		}, "page_token"},
		{"empty trace id", func() error { _, err := svc.GetTrace(ctx, proj, &queryv1.GetTraceRequest{}); return err }, "trace_id"},
		{"observations page size negative", getTrace(&queryv1.GetTraceRequest{TraceId: "a", ObservationsPageSize: -1}), "observations_page_size"},
		{"observations page size too big", getTrace(&queryv1.GetTraceRequest{TraceId: "a", ObservationsPageSize: 10_001}), "observations_page_size"},
		{"observations token of another trace", getTrace(&queryv1.GetTraceRequest{TraceId: "b", ObservationsPageToken: traceAToken}), "observations_page_token"},
		{"observations token of a list", getTrace(&queryv1.GetTraceRequest{TraceId: "a", ObservationsPageToken: tracesToken}), "observations_page_token"},
		{"observations token truncated", getTrace(&queryv1.GetTraceRequest{TraceId: "a", ObservationsPageToken: traceAToken[:12]}), "observations_page_token"},
		{"observations token extended", getTrace(&queryv1.GetTraceRequest{TraceId: "a", ObservationsPageToken: traceAToken + "AA"}), "observations_page_token"},
		{"observations token position tampered", getTrace(&queryv1.GetTraceRequest{TraceId: "a", ObservationsPageToken: tampered(traceAToken, 1+digestLen)}), "observations_page_token"},
		{"observations token garbage", getTrace(&queryv1.GetTraceRequest{TraceId: "a", ObservationsPageToken: "%%%"}), "observations_page_token"},
		{"trace token as list token", func() error {
			_, err := svc.ListObservations(ctx, proj, &queryv1.ListObservationsRequest{TraceId: "a", PageToken: traceAToken})
			return err
		}, "page_token"},
		{"empty session id", func() error { _, err := svc.GetSession(ctx, proj, &queryv1.GetSessionRequest{}); return err }, "session_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fieldOf(t, tt.call()); got != tt.field {
				t.Errorf("field = %q, want %q", got, tt.field)
			}
		})
	}
}

func TestPageTokenRoundTrip(t *testing.T) {
	req := &queryv1.ListTracesRequest{Name: "x", Tags: []string{"b", "a"}, PageSize: 10}
	d := digestOf(req, nil)
	for _, c := range []Cursor{{}, {TS: 1<<64 - 1, ID: "id", Tie: "trace"}, {ID: "ünï\x00code"}} {
		got, err := decodePageToken(encodePageToken(d, c), d)
		if err != nil || *got != c {
			t.Errorf("round trip of %+v = %+v, %v", c, got, err)
		}
	}
	// Page size and the token itself are not filters.
	req2 := cloneReq(req)
	req2.PageSize, req2.PageToken = 99, "whatever"
	if digestOf(req2, nil) != d {
		t.Error("digest depends on paging fields")
	}
}

func TestListTracesTagOrderKeepsToken(t *testing.T) {
	// The digest normalizes tag order, so a client may resend tags in any order.
	norm := func(tags ...string) filterDigest {
		return digestOf(&queryv1.ListTracesRequest{Tags: tags}, normalizeTraceFilter)
	}
	if norm("a", "b") != norm("b", "a", "a") {
		t.Error("tag order changes the filter digest")
	}
	if norm("a") == norm("b") {
		t.Error("different tags share a digest")
	}
}
