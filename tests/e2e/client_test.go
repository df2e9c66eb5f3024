package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
)

// apiKey is a project's key pair as `agenttrace-auth bootstrap` prints it.
type apiKey struct {
	OrganizationID string `json:"organization_id"`
	ProjectID      string `json:"project_id"`
	KeyID          string `json:"key_id"`
	PublicKey      string `json:"public_key"`
	SecretKey      string `json:"secret_key"`
}

// basic is the Authorization header value for k.
func (k apiKey) basic() string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(k.PublicKey+":"+k.SecretKey))
}

// bootstrap creates (or reuses) an organization and project and a new key.
func (s *stack) bootstrap(t *testing.T, org, project string) apiKey {
	t.Helper()
	out, err := s.command(t.Context(), "auth", "bootstrap", "--org", org, "--project", project)
	if err != nil {
		t.Fatal(err)
	}
	var k apiKey
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&k); err != nil {
		t.Fatalf("bootstrap output is not the documented JSON object: %v", err)
	}
	secrets.addAPIKey(k.PublicKey, k.SecretKey)
	if k.OrganizationID == "" || k.ProjectID == "" || k.KeyID == "" ||
		!strings.HasPrefix(k.PublicKey, "pk-at-") || !strings.HasPrefix(k.SecretKey, "sk-at-") {
		t.Fatalf("bootstrap output incomplete: %s", secrets.redact(string(out)))
	}
	return k
}

// restClient talks to the gateway's REST API with one Authorization header
// (none when empty) and, for user tokens, the project the calls act on.
type restClient struct {
	base          string
	authorization string
	project       string // X-AgentTrace-Project; none when empty
	hc            *http.Client
}

// projectHeader names the project a user token acts on.
const projectHeader = "X-AgentTrace-Project"

// inProject is c acting on another project (user tokens only; "" sends no
// project header).
func (c *restClient) inProject(project string) *restClient {
	cp := *c
	cp.project = project
	return &cp
}

func (s *stack) rest(authorization string) *restClient {
	return &restClient{
		base:          "http://" + s.addr["gateway"].http,
		authorization: authorization,
		hc:            &http.Client{Timeout: 30 * time.Second},
	}
}

// response is a REST answer, read in full.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) String() string {
	const max = 2000
	b := secrets.redact(string(r.body)) // before truncating: no half secrets
	if len(b) > max {
		b = b[:max] + "..."
	}
	return fmt.Sprintf("HTTP %d: %s", r.status, b)
}

// do sends one request; a transport error fails the test.
func (c *restClient) do(t *testing.T, method, path string, body []byte) response {
	t.Helper()
	r, err := c.request(t.Context(), method, path, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// request sends one request and reads the answer in full. Every secret in
// the request or in a successful answer goes into the registry the final
// log scan looks for.
func (c *restClient) request(ctx context.Context, method, path string, body []byte) (response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return response{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.authorization != "" {
		req.Header.Set("Authorization", c.authorization)
	}
	if c.project != "" {
		req.Header.Set(projectHeader, c.project)
	}
	secrets.harvestJSON(body)
	resp, err := c.hc.Do(req)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	if resp.StatusCode/100 == 2 {
		secrets.harvestJSON(data)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// strictJSON decodes REST answers into the generated types; a field the
// contract does not define is an error, not silently dropped.
var strictJSON = protojson.UnmarshalOptions{DiscardUnknown: false}

// wireJSON is how an SDK writes requests: proto field names, enum names.
var wireJSON = protojson.MarshalOptions{UseProtoNames: true}

// get fetches path and decodes a 200 answer into out; any other status is
// returned as an error, so pollers can retry.
func (c *restClient) get(t *testing.T, path string, out proto.Message) error {
	t.Helper()
	r := c.do(t, http.MethodGet, path, nil)
	if r.status != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, r)
	}
	if err := strictJSON.Unmarshal(r.body, out); err != nil {
		return fmt.Errorf("GET %s: decode %T: %w\n%s", path, out, err, r)
	}
	return nil
}

// mustGet is get for calls that must succeed at once.
func (c *restClient) mustGet(t *testing.T, path string, out proto.Message) {
	t.Helper()
	if err := c.get(t, path, out); err != nil {
		t.Fatal(err)
	}
}

// send posts a proto message as JSON and decodes the answer into out when it
// is a success (2xx).
func (c *restClient) send(t *testing.T, method, path string, in, out proto.Message) response {
	t.Helper()
	body, err := wireJSON.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	r := c.do(t, method, path, body)
	if r.status/100 == 2 && out != nil {
		if err := strictJSON.Unmarshal(r.body, out); err != nil {
			t.Fatalf("%s %s: decode %T: %v\n%s", method, path, out, err, r)
		}
	}
	return r
}

// ingest posts one batch; the answer body is decoded whatever the status,
// since 200, 207 and 400 all carry an IngestBatchResponse.
func (c *restClient) ingest(t *testing.T, events []*ingestv1.IngestEvent) (response, *ingestv1.IngestBatchResponse) {
	t.Helper()
	body, err := wireJSON.Marshal(&ingestv1.IngestBatchRequest{Batch: events})
	if err != nil {
		t.Fatal(err)
	}
	return c.ingestRaw(t, body)
}

func (c *restClient) ingestRaw(t *testing.T, body []byte) (response, *ingestv1.IngestBatchResponse) {
	t.Helper()
	r := c.do(t, http.MethodPost, "/api/v1/ingestion", body)
	var out ingestv1.IngestBatchResponse
	if err := strictJSON.Unmarshal(r.body, &out); err != nil {
		return r, nil
	}
	return r, &out
}

// mustIngest posts a batch whose every event must be accepted.
func (c *restClient) mustIngest(t *testing.T, events []*ingestv1.IngestEvent) {
	t.Helper()
	r, out := c.ingest(t, events)
	if r.status != http.StatusOK || out == nil || int(out.GetAccepted()) != len(events) || out.GetRejected() != 0 {
		t.Fatalf("ingest of %d events: want 200 with all accepted, got %s", len(events), r)
	}
}

// apiError is the gateway's documented error body.
type apiError struct {
	Error struct {
		Code            string `json:"code"`
		HTTPStatus      int    `json:"http_status"`
		Message         string `json:"message"`
		FieldViolations []struct {
			Field       string `json:"field"`
			Description string `json:"description"`
		} `json:"field_violations"`
	} `json:"error"`
}

// checkError checks that r is an error answer with the given status and
// gRPC code name in the documented JSON shape.
func checkError(t *testing.T, what string, r response, status int, code string) apiError {
	t.Helper()
	var e apiError
	if r.status != status {
		t.Errorf("%s: want HTTP %d, got %s", what, status, r)
		return e
	}
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Errorf("%s: error body is not JSON: %v\n%s", what, err, r)
		return e
	}
	if e.Error.Code != code || e.Error.HTTPStatus != status || e.Error.Message == "" {
		t.Errorf("%s: want error {code %q, http_status %d, message}, got %s", what, code, status, r)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: error Content-Type %q, want application/json", what, ct)
	}
	return e
}

// dial opens a gRPC connection to a service of the stack.
func dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// withKey authenticates outgoing gRPC calls made with ctx as k.
func withKey(ctx context.Context, k apiKey) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", k.basic())
}
