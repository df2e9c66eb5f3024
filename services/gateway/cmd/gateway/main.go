// Command agenttrace-gateway serves the REST API in front of the ingest,
// query and auth gRPC services.
package main

import (
	"github.com/agenttrace/agenttrace/pkg/service"
	"github.com/agenttrace/agenttrace/services/gateway/internal/app"
)

func main() { service.Main(app.Run) }
