// Command agenttrace-gateway serves the REST API, the OTLP/HTTP receiver and
// the Langfuse API in front of the ingest, query and auth gRPC services; see
// `agenttrace-gateway help`.
package main

import "github.com/agenttrace/agenttrace/services/gateway/internal/app"

func main() { app.Program().Main() }
