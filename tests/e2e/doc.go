// Package e2e is the end-to-end test of AgentTrace: it builds the five service
// binaries, runs them as real processes on free ports against the real
// PostgreSQL, NATS JetStream, ClickHouse and Redis servers (each run in its
// own databases, stream namespace and Redis key prefix, with its own random
// JWT secret and encryption key), and drives them over REST and gRPC the way
// an SDK, a dashboard user and an operator would. At the end it scans every
// service log for every secret the run created or configured.
//
// Run it with `make test`, or from this directory with
// `GOWORK=off go test -count=1 -v ./...` once the dependency servers are up.
// It has no non-test code; this file only carries the package documentation.
package e2e
