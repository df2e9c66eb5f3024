package chstore

import (
	"context"
	"strconv"
	"testing"

	"github.com/agenttrace/agenttrace/services/query/internal/chtest"
)

// TestReadsUseTheUncompressedCache: every read goes out with the settings
// of readSettings, as the server sees them.
func TestReadsUseTheUncompressedCache(t *testing.T) {
	s := New(chtest.NewDB(t))
	for name, want := range map[string]string{
		"use_uncompressed_cache":           "1",
		"merge_tree_max_rows_to_use_cache": strconv.Itoa(maxCachedReadRows),
	} {
		var value string
		q := newQuery("setting").add("SELECT value FROM system.settings WHERE name = ?", name)
		if err := s.scanOne(context.Background(), q, &value); err != nil {
			t.Fatal(err)
		}
		if value != want {
			t.Errorf("%s = %q in a read, want %s", name, value, want)
		}
	}
}
