// Command agenttrace-query serves agenttrace.query.v1.QueryService: reads of
// traces, observations, sessions and scores from ClickHouse, scoped to the
// caller's project; see `agenttrace-query help`.
package main

import "github.com/agenttrace/agenttrace/services/query/internal/app"

func main() { app.Program().Main() }
