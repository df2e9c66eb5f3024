package langfuse

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/agenttrace/agenttrace/pkg/authn"
	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	"github.com/agenttrace/agenttrace/services/gateway/internal/grpchttp"
	"github.com/agenttrace/agenttrace/services/gateway/internal/reqbody"
)

// ingestion serves POST /api/public/ingestion.
type ingestion struct {
	cfg Config
}

// batchResult is Langfuse's 207 answer: every event of the batch is in
// successes or in errors.
type batchResult struct {
	Successes []success `json:"successes"`
	Errors    []failure `json:"errors"`
}

type success struct {
	ID     string `json:"id"`
	Status int    `json:"status"`
}

type failure struct {
	ID      string `json:"id"`
	Status  int    `json:"status"`
	Message string `json:"message"`
	Error   string `json:"error"`
}

// invalidMessage is Langfuse's message for an event (or a body) that does
// not parse; the detail goes in "error".
const invalidMessage = "Invalid request data"

func (h *ingestion) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		methodNotAllowed(w, http.MethodPost)
		return
	}
	body, err := reqbody.FromRequest(w, r, h.cfg.MaxBodyBytes)
	if err != nil {
		writeMessage(w, reqbody.HTTPStatus(err), err.Error())
		return
	}
	b, err := decodeBatch(body)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": invalidMessage, "errors": []string{err.Error()}})
		return
	}
	if n := len(b.items); n > h.cfg.MaxEvents {
		writeMessage(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("batch holds %d events, at most %d allowed: send smaller batches", n, h.cfg.MaxEvents))
		return
	}
	h.logBatch(r, b)

	var events []*ingestv1.IngestEvent
	for _, it := range b.items {
		events = append(events, it.events...)
	}
	ctx := metadata.NewOutgoingContext(r.Context(), grpchttp.OutgoingMetadata(r))
	results := make([]*ingestv1.EventResult, 0, len(events))
	if len(events) == 0 {
		// Nothing reaches ingest, whose interceptor would have checked the
		// credentials: check them here, so a wrong key is a 401 whatever
		// the batch holds.
		_, err := h.cfg.Auth.Authenticate(ctx, &authv1.AuthenticateRequest{
			Authorization: r.Header.Get("Authorization"),
			ProjectId:     r.Header.Get(authn.ProjectHeader),
		})
		if err != nil {
			writeBackendError(w, r, h.cfg.Log, err)
			return
		}
	}
	for start := 0; start < len(events); start += h.cfg.ChunkEvents {
		chunk := events[start:min(start+h.cfg.ChunkEvents, len(events))]
		var header metadata.MD
		resp, err := h.cfg.Ingest.IngestBatch(ctx, &ingestv1.IngestBatchRequest{Batch: chunk}, grpc.Header(&header))
		grpchttp.CopyRateLimitHeaders(w, header)
		if err != nil {
			// Chunks already accepted stay accepted; the SDK retries the
			// whole batch, and the same event ids make that harmless.
			writeBackendError(w, r, h.cfg.Log, err)
			return
		}
		if len(resp.GetResults()) != len(chunk) {
			h.cfg.Log.ErrorContext(r.Context(), "ingest answered a different number of results",
				"events", len(chunk), "results", len(resp.GetResults()))
			writeMessage(w, http.StatusInternalServerError, "internal error")
			return
		}
		results = append(results, resp.GetResults()...)
	}
	writeJSON(w, http.StatusMultiStatus, outcome(b.items, results))
}

// outcome lines ingest's results (one per native event, in order) up with
// the Langfuse events they came from.
func outcome(items []item, results []*ingestv1.EventResult) batchResult {
	out := batchResult{Successes: []success{}, Errors: []failure{}}
	next := 0
	for _, it := range items {
		if it.err != nil {
			out.Errors = append(out.Errors, failure{ID: it.id, Status: http.StatusBadRequest, Message: invalidMessage, Error: it.err.Error()})
			continue
		}
		var rejected *ingestv1.EventResult
		var implied bool
		for _, ev := range it.events {
			res := results[next]
			next++
			if !res.GetAccepted() && rejected == nil {
				rejected, implied = res, ev.GetType() == ingestv1.EventType_EVENT_TYPE_TRACE_CREATE && len(it.events) > 1
			}
		}
		if rejected == nil {
			out.Successes = append(out.Successes, success{ID: it.id, Status: http.StatusCreated})
			continue
		}
		// Ingest's messages may name other native fields ("must not be
		// before observation.start_time"): spell them as the SDK does too.
		msg := nativeFieldRE.ReplaceAllStringFunc(rejected.GetError(), langfuseField)
		if f := langfuseField(rejected.GetField()); f != "" {
			msg = f + ": " + msg
		}
		if implied {
			msg = "the trace created for an observation without traceId was rejected: " + msg
		}
		out.Errors = append(out.Errors, failure{ID: it.id, Status: http.StatusBadRequest, Message: invalidMessage, Error: msg})
	}
	return out
}

// nativeFields are the native field names whose Langfuse name is not just
// the camel case of the native one.
var nativeFields = map[string]string{
	"score.string_value":      "body.value",
	"score.data_type":         "body.dataType",
	"observation.cost":        "body.costDetails",
	"observation.cost.input":  "body.costDetails.input",
	"observation.cost.output": "body.costDetails.output",
	"observation.cost.total":  "body.costDetails.total",
}

// nativeFieldRE matches a native field path in a message.
var nativeFieldRE = regexp.MustCompile(`\b(trace|observation|score)\.[a-z_]+(\.[a-z_]+)*\b`)

// langfuseField names a native field (a proto-name path within the native
// event, "observation.start_time") as the SDK spells it ("body.startTime").
func langfuseField(native string) string {
	if f, ok := nativeFields[native]; ok {
		return f
	}
	_, rest, found := strings.Cut(native, ".")
	if !found {
		if native == "trace" || native == "observation" || native == "score" {
			return "body"
		}
		return native // id, timestamp, type
	}
	parts := strings.Split(rest, ".")
	for i, p := range parts {
		parts[i] = camel(p)
	}
	return "body." + strings.Join(parts, ".")
}

func camel(s string) string {
	var b strings.Builder
	up := false
	for _, r := range s {
		switch {
		case r == '_':
			up = true
		case up:
			b.WriteString(strings.ToUpper(string(r)))
			up = false
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// logBatch logs what is logged rather than stored: sdk-log events (the
// SDKs' own diagnostics) and the batch's metadata, at debug.
func (h *ingestion) logBatch(r *http.Request, b *batch) {
	log := h.cfg.Log
	ctx := r.Context()
	for _, it := range b.items {
		if it.log != nil {
			log.DebugContext(ctx, "langfuse sdk log", append(sdkAttrs(r), "event_id", it.id, "log", clip(string(it.log)))...)
		}
	}
	log.DebugContext(ctx, "langfuse batch", append(sdkAttrs(r), "events", len(b.items), "metadata", clip(string(b.metadata)))...)
}
