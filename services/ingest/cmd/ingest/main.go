// Command agenttrace-ingest runs the ingest service: it accepts batches of
// trace, observation and score events, validates them and publishes the
// accepted ones to JetStream; see `agenttrace-ingest help`.
package main

import "github.com/agenttrace/agenttrace/services/ingest/internal/app"

func main() { app.Program().Main() }
