//go:build race

package e2e

// raceEnabled says the test runs under the race detector (go test -race);
// the services it builds get it too.
const raceEnabled = true
