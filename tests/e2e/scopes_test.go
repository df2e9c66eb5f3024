package e2e

import (
	"net/http"
	"slices"
	"testing"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
)

// TestKeyScopes checks that an API key can do what its scopes say and
// nothing else: an ingest-only key (what an SDK in production should hold)
// cannot read traces, a read-only key cannot write.
func TestKeyScopes(t *testing.T) {
	s := requireStack(t)
	founder, org := s.founder(t)
	project := s.createProject(t, founder, org, "scopes-"+randomHex(3)).GetId()
	owner := s.asUser(founder, project)
	data := newSmallTrace("scopes")
	owner.mustIngest(t, data.events)
	waitTrace(t, owner, data)

	ingestKey := s.createKey(t, founder, project, authv1.APIKeyScope_API_KEY_SCOPE_INGEST)
	readKey := s.createKey(t, founder, project, authv1.APIKeyScope_API_KEY_SCOPE_READ)
	defaultKey := s.createKey(t, founder, project)

	t.Run("listed with their scopes", func(t *testing.T) {
		var keys authv1.ListAPIKeysResponse
		owner.mustGet(t, "/api/v1/api-keys?project_id="+project, &keys)
		want := map[string][]authv1.APIKeyScope{
			ingestKey.KeyID:  {authv1.APIKeyScope_API_KEY_SCOPE_INGEST},
			readKey.KeyID:    {authv1.APIKeyScope_API_KEY_SCOPE_READ},
			defaultKey.KeyID: {authv1.APIKeyScope_API_KEY_SCOPE_INGEST, authv1.APIKeyScope_API_KEY_SCOPE_READ},
		}
		for _, k := range keys.GetApiKeys() {
			if w, ok := want[k.GetId()]; ok {
				got := slices.Sorted(slices.Values(k.GetScopes()))
				if !slices.Equal(got, w) {
					t.Errorf("key %s lists scopes %v, want %v", k.GetId(), got, w)
				}
				delete(want, k.GetId())
			}
		}
		if len(want) > 0 {
			t.Errorf("keys missing from the list: %v", want)
		}
	})

	t.Run("ingest only", func(t *testing.T) {
		c := s.rest(ingestKey.basic())
		c.mustIngest(t, newSmallTrace("ingest-key").events)
		forbidden(t, "ingest key lists traces", c.do(t, http.MethodGet, "/api/v1/traces", nil))
		forbidden(t, "ingest key reads a trace", c.do(t, http.MethodGet, "/api/v1/traces/"+data.traceID, nil))
		forbidden(t, "ingest key lists observations", c.do(t, http.MethodGet, "/api/v1/observations", nil))
		forbidden(t, "ingest key lists sessions", c.do(t, http.MethodGet, "/api/v1/sessions", nil))
		forbidden(t, "ingest key lists scores", c.do(t, http.MethodGet, "/api/v1/scores", nil))
		forbidden(t, "ingest key queries metrics", c.do(t, http.MethodPost, "/api/v1/metrics",
			[]byte(`{"view": "traces", "metrics": [{"measure": "count", "aggregation": "count"}], "fromTimestamp": "2025-01-01T00:00:00Z", "toTimestamp": "2030-01-01T00:00:00Z"}`)))
		forbidden(t, "ingest key creates a key", c.send(t, http.MethodPost, "/api/v1/api-keys", &authv1.CreateAPIKeyRequest{}, nil))
		forbidden(t, "ingest key deletes a trace", c.do(t, http.MethodDelete, "/api/v1/traces/"+data.traceID, nil))
	})

	t.Run("read only", func(t *testing.T) {
		c := s.rest(readKey.basic())
		var got queryv1.ListTracesResponse
		c.mustGet(t, "/api/v1/traces", &got)
		if !slices.Contains(ids(got.GetTraces()), data.traceID) {
			t.Errorf("read key lists traces: want %s among %v", data.traceID, ids(got.GetTraces()))
		}
		c.mustGet(t, "/api/v1/traces/"+data.traceID, &queryv1.GetTraceResponse{})
		forbidden(t, "read key ingests", ingestResponse(t, c, newSmallTrace("read-key").events))
		forbidden(t, "read key creates a key", c.send(t, http.MethodPost, "/api/v1/api-keys", &authv1.CreateAPIKeyRequest{}, nil))
		forbidden(t, "read key deletes a trace", c.do(t, http.MethodDelete, "/api/v1/traces/"+data.traceID, nil))
	})

	t.Run("default scopes ingest and read", func(t *testing.T) {
		c := s.rest(defaultKey.basic())
		c.mustIngest(t, newSmallTrace("default-key").events)
		c.mustGet(t, "/api/v1/traces/"+data.traceID, &queryv1.GetTraceResponse{})
		forbidden(t, "default key creates a key", c.send(t, http.MethodPost, "/api/v1/api-keys", &authv1.CreateAPIKeyRequest{}, nil))
	})

	// Nothing a refused call tried changed the data.
	owner.mustGet(t, "/api/v1/traces/"+data.traceID, &queryv1.GetTraceResponse{})
}
