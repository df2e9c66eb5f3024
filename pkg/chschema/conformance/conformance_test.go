package conformance_test

import (
	"context"
	"crypto/rand"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agenttrace/agenttrace/pkg/chschema"
	"github.com/agenttrace/agenttrace/pkg/chschema/conformance"
	"github.com/agenttrace/agenttrace/pkg/clickhousedb"
)

// TestReferencePair runs the suite on the two reference halves, so that a
// failure in a service's run points at the service, not at the suite.
func TestReferencePair(t *testing.T) {
	if testing.Short() {
		t.Skip("needs ClickHouse")
	}
	conformance.Run(t, func(t *testing.T) (conformance.Writer, conformance.Reader) {
		ctx := context.Background()
		cfg := clickhousedb.Config{Addr: "127.0.0.1:9000", User: "default", Database: "conformance_" + strings.ToLower(rand.Text()[:10]),
			DialTimeout: 5 * time.Second, QueryTimeout: 30 * time.Second, MaxOpenConns: 2}
		admin, err := clickhousedb.Open(ctx, cfg, "default")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+cfg.Database); admin.Close() })
		if err := admin.Exec(ctx, "CREATE DATABASE "+cfg.Database); err != nil {
			t.Fatal(err)
		}
		conn, err := clickhousedb.Open(ctx, cfg, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		files, _ := fs.Glob(chschema.Migrations, "migrations/*.up.sql")
		slices.Sort(files)
		for _, f := range files {
			sql, _ := fs.ReadFile(chschema.Migrations, f)
			if err := conn.Exec(ctx, strings.TrimSpace(string(sql))); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
		}
		return conformance.RowWriter{Conn: conn}, conformance.MergeReader{Conn: conn}
	})
}
