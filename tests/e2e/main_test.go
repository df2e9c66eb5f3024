package e2e

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"
)

// stk is the platform every test drives; nil under -short.
var stk *stack

// TestMain builds and starts the five services once for the whole package,
// runs the tests, then stops the services (checking that they drain and exit
// cleanly) and drops everything the run created.
func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	os.Exit(runWithStack(m))
}

func runWithStack(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	s, err := newStack(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e setup:", err)
		if s != nil {
			s.dumpLogs(os.Stderr)
			s.teardown(context.Background())
			s.keepLogsOnly()
		}
		return 1
	}
	stk = s
	// Before any test: only the installation's first user signs up freely.
	s.signupFirst(ctx)
	code := m.Run()

	if err := s.stopAll(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e shutdown:", err)
		code = 1
	}
	// With every process stopped, its log is complete.
	if !scanLogsForSecrets(s) {
		code = 1
	}
	if !scanLogsForRaces(s) {
		code = 1
	}
	if code != 0 {
		s.dumpLogs(os.Stderr)
	}
	s.teardown(context.Background())
	if code == 0 {
		os.RemoveAll(s.dir)
	} else {
		s.keepLogsOnly()
	}
	return code
}

// requireStack skips under -short and otherwise returns the running platform.
func requireStack(t *testing.T) *stack {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test: needs PostgreSQL, NATS and ClickHouse (skipped under -short)")
	}
	if stk == nil {
		t.Fatal("platform not started")
	}
	return stk
}

// scanLogsForSecrets looks for every secret the run created or configured
// in every log of the run and reports each kind found in each log (never
// the secret). It reports false when it found any or could not look.
func scanLogsForSecrets(s *stack) bool {
	leaks, err := secrets.scan(s.logs())
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e secret scan:", err)
		return false
	}
	if len(leaks) > 0 {
		fmt.Fprintln(os.Stderr, "e2e secret scan: FAIL: secrets appear in service logs:")
		for _, l := range leaks {
			fmt.Fprintln(os.Stderr, "  "+l.String())
		}
		return false
	}
	if testing.Verbose() {
		fmt.Printf("e2e secret scan: no secret in %d logs (looked for %s)\n", len(s.logs()), secrets.counts())
	}
	return true
}

// raceReport starts each report of the race detector.
var raceReport = []byte("WARNING: DATA RACE")

// scanLogsForRaces reports each log in which a race-enabled service (go test
// -race builds them so) reported a data race; such a service also exits 66,
// but one that a test killed says so only in its log. It reports false when
// it found any or could not look.
func scanLogsForRaces(s *stack) bool {
	ok := true
	for _, path := range s.logs() {
		data, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2e race scan:", err)
			ok = false
			continue
		}
		if n := bytes.Count(data, raceReport); n > 0 {
			fmt.Fprintf(os.Stderr, "e2e race scan: FAIL: %d data race reports in %s\n", n, path)
			ok = false
		}
	}
	return ok
}
