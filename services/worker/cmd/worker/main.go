// Command agenttrace-worker stores ingested events in ClickHouse and carries
// the worker's operational commands (migrate, dlq); see
// `agenttrace-worker help`.
package main

import "github.com/agenttrace/agenttrace/services/worker/internal/app"

func main() { app.Program().Main() }
