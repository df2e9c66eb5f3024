package chstore

import (
	"context"
	"testing"

	"github.com/agenttrace/agenttrace/services/query/internal/chtest"
)

// TestReadsUseTheUncompressedCache: every read goes out with the settings
// of readSettings, as the server sees them.
func TestReadsUseTheUncompressedCache(t *testing.T) {
	s := New(chtest.NewDB(t))
	var value string
	q := newQuery("setting").add("SELECT value FROM system.settings WHERE name = ?", "use_uncompressed_cache")
	if err := s.scanOne(context.Background(), q, &value); err != nil {
		t.Fatal(err)
	}
	if value != "1" {
		t.Errorf("use_uncompressed_cache = %q in a read, want 1", value)
	}
}
