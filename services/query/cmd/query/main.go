// Command query serves agenttrace.query.v1.QueryService: reads of traces,
// observations, sessions and scores from ClickHouse, scoped to the caller's project.
package main

import "github.com/agenttrace/agenttrace/pkg/service"

func main() { service.Main(run) }
