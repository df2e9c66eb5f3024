package pgstore

import (
	"slices"
	"testing"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
)

func TestScopesColumn(t *testing.T) {
	const (
		ingest = authv1.APIKeyScope_API_KEY_SCOPE_INGEST
		admin  = authv1.APIKeyScope_API_KEY_SCOPE_ADMIN
	)
	tests := []struct {
		src     any
		want    []authv1.APIKeyScope
		wantErr bool
	}{
		{src: "INGEST,ADMIN", want: []authv1.APIKeyScope{ingest, admin}},
		{src: "", want: []authv1.APIKeyScope{}},
		{src: "INGEST,OWNER", wantErr: true},
		{src: "ingest", wantErr: true},
		{src: []byte("INGEST"), wantErr: true},
		{src: nil, wantErr: true},
	}
	for _, tt := range tests {
		var got []authv1.APIKeyScope
		err := scopesColumn{&got}.Scan(tt.src)
		if tt.wantErr != (err != nil) || (!tt.wantErr && !slices.Equal(got, tt.want)) {
			t.Errorf("Scan(%#v) = %v, %v; want %v, error %v", tt.src, got, err, tt.want, tt.wantErr)
		}
	}
	if got := scopeNames([]authv1.APIKeyScope{ingest, admin}); !slices.Equal(got, []string{"INGEST", "ADMIN"}) {
		t.Errorf("scopeNames = %v", got)
	}
}
