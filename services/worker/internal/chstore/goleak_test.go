package chstore_test

import (
	"testing"

	"go.uber.org/goleak"
)

// The ClickHouse driver runs connection-pool goroutines; every test must
// close what it opens.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
