package query_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	"github.com/agenttrace/agenttrace/services/query/internal/chstore"
	"github.com/agenttrace/agenttrace/services/query/internal/chtest"

	. "github.com/agenttrace/agenttrace/services/query/internal/query"
)

const (
	proj  = "proj-a"
	other = "proj-b" // holds rows with the same ids, which proj must never see
)

// base is 2025-01-01T00:00:00Z in nanoseconds; at(s) is s seconds later.
const base uint64 = 1735689600 * 1e9

func at(s float64) uint64 { return base + uint64(s*1e9) }

func newService(t *testing.T) (*Service, driver.Conn) {
	t.Helper()
	conn := chtest.NewDB(t)
	return New(chstore.New(conn)), conn
}

func fieldOf(t *testing.T, err error) string {
	t.Helper()
	var fe *FieldError
	if !errors.As(err, &fe) || !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("want a FieldError, got %v", err)
	}
	return fe.Field
}

// isStoreError tells whether err is a failure of the store: neither
// NotFound nor a field error.
func isStoreError(err error) bool {
	var fe *FieldError
	return err != nil && !errors.Is(err, ErrNotFound) && !errors.As(err, &fe)
}

var ctx = context.Background()

// Internals of package query, exported to its tests by export_test.go.
var (
	buildTree            = BuildTree
	tsNanos              = TsNanos
	fromNanos            = FromNanos
	digestOf             = DigestOf
	encodePageToken      = EncodePageToken
	decodePageToken      = DecodePageToken
	addUsage             = AddUsage
	addCost              = AddCost
	checksum             = Checksum
	normalizeTraceFilter = NormalizeTraceFilter
)

type filterDigest = FilterDigest

const (
	digestLen      = DigestLen
	tokenVersion   = TokenVersion
	maxTokenLength = MaxTokenLength
)

// cloneReq copies a request so table cases stay untouched.
func cloneReq[M proto.Message](m M) M { return proto.Clone(m).(M) }

// GetTrace reads concurrently; no goroutine may outlive a call.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
