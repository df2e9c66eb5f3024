package chschema_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/agenttrace/agenttrace/pkg/chschema"
	"github.com/agenttrace/agenttrace/pkg/clickhousedb"
)

// TestLatestVersion: the migrations are numbered 1..N with an up and a down
// file each, and LatestVersion is N.
func TestLatestVersion(t *testing.T) {
	entries, err := chschema.Migrations.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	ups, downs := map[uint]bool{}, map[uint]bool{}
	for _, e := range entries {
		var n uint
		if _, err := fmt.Sscanf(e.Name(), "%06d_", &n); err != nil {
			t.Fatalf("migration file %s is not numbered", e.Name())
		}
		if strings.HasSuffix(e.Name(), ".up.sql") {
			ups[n] = true
		} else {
			downs[n] = true
		}
	}
	for n := uint(1); n <= uint(len(ups)); n++ {
		if !ups[n] || !downs[n] {
			t.Errorf("migration %d lacks its up or down file", n)
		}
	}
	if got := chschema.LatestVersion(); got != uint(len(ups)) || got == 0 {
		t.Fatalf("LatestVersion = %d, want %d", got, len(ups))
	}
}

// TestCheck walks one database through the states Check tells apart, writing
// the version table as the migrators do.
func TestCheck(t *testing.T) {
	if testing.Short() {
		t.Skip("needs ClickHouse")
	}
	ctx := context.Background()
	cfg := clickhousedb.Config{Addr: "127.0.0.1:9000", User: "default", Database: "chschema_test_" + strings.ToLower(rand.Text()[:10]),
		DialTimeout: 5 * time.Second, QueryTimeout: 30 * time.Second, MaxOpenConns: 2}
	admin, err := clickhousedb.Open(ctx, cfg, "default")
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.Exec(ctx, "CREATE DATABASE "+cfg.Database); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+cfg.Database) })
	conn, err := clickhousedb.Open(ctx, cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	latest := int64(chschema.LatestVersion())
	seq := uint64(0)
	setVersion := func(version int64, dirty uint8) {
		seq++
		batch, err := conn.PrepareBatch(ctx, "INSERT INTO "+chschema.VersionTable+" (version, dirty, sequence)")
		if err != nil {
			t.Fatal(err)
		}
		if err := batch.Append(version, dirty, seq); err != nil {
			t.Fatal(err)
		}
		if err := batch.Send(); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name    string
		prepare func()
		want    error // nil: the schema suffices
		detail  string
	}{
		{"no version table", func() {}, chschema.ErrSchemaMissing, ""},
		{"empty version table", func() {
			if err := conn.Exec(ctx, chschema.CreateVersionTable); err != nil {
				t.Fatal(err)
			}
		}, chschema.ErrSchemaMissing, ""},
		{"older", func() { setVersion(1, 0) }, chschema.ErrSchemaOutdated, fmt.Sprintf("at version 1, need %d", latest)},
		{"dirty", func() { setVersion(latest, 1) }, chschema.ErrSchemaDirty, fmt.Sprintf("version %d", latest)},
		{"current", func() { setVersion(latest, 0) }, nil, ""},
		{"newer (after a rollback)", func() { setVersion(latest+5, 0) }, nil, ""},
		{"every migration reverted", func() { setVersion(-1, 0) }, chschema.ErrSchemaMissing, ""},
		{"database dropped", func() {
			if err := admin.Exec(ctx, "DROP DATABASE "+cfg.Database); err != nil {
				t.Fatal(err)
			}
		}, chschema.ErrSchemaMissing, ""},
	}
	for _, s := range steps {
		s.prepare()
		err := chschema.Check(ctx, conn)
		if s.want == nil && err != nil || s.want != nil && !errors.Is(err, s.want) {
			t.Fatalf("%s: Check = %v, want %v", s.name, err, s.want)
		}
		if err != nil && !strings.Contains(err.Error(), s.detail) {
			t.Errorf("%s: %q lacks %q", s.name, err, s.detail)
		}
	}
}
