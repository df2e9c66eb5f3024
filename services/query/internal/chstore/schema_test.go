package chstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/agenttrace/agenttrace/pkg/chschema"
	"github.com/agenttrace/agenttrace/pkg/clickhousedb"
	"github.com/agenttrace/agenttrace/services/query/internal/chstore"
	"github.com/agenttrace/agenttrace/services/query/internal/chtest"
	"github.com/agenttrace/agenttrace/services/query/internal/query"
)

func TestCheckSchema(t *testing.T) {
	tests := []struct {
		name  string
		store func(t *testing.T) *chstore.Store
		want  error // nil: ready
	}{
		{"not connected", func(*testing.T) *chstore.Store {
			return chstore.NewPending(clickhousedb.NewBackground(clickhousedb.Config{}, nil))
		}, query.ErrNotConnected},
		{"database without the schema", func(t *testing.T) *chstore.Store { return chstore.New(chtest.NewEmptyDB(t)) }, chschema.ErrSchemaMissing},
		{"migrated", func(t *testing.T) *chstore.Store { return chstore.New(chtest.NewDB(t)) }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.store(t).CheckSchema(context.Background())
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("CheckSchema = %v, want %v", err, tt.want)
			}
		})
	}
}

// Reads of a database whose tables do not exist yet are ErrUnavailable:
// the worker's migrations have not run.
func TestReadsWithoutSchemaAreUnavailable(t *testing.T) {
	s := chstore.New(chtest.NewEmptyDB(t))
	_, _, err := s.Trace(context.Background(), "p", "t", query.Days{})
	if !errors.Is(err, query.ErrUnavailable) {
		t.Fatalf("Trace without tables = %v, want ErrUnavailable", err)
	}
}
