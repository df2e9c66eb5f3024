//go:build race

package ratelimit

// raceEnabled says the tests run under the race detector (go test -race),
// which slows the clients of the throughput measurement.
const raceEnabled = true
