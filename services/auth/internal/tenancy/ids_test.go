package tenancy

import (
	"errors"
	"testing"

	"github.com/google/uuid"
)

func TestIDs(t *testing.T) {
	id := uuid.New()
	tests := []struct {
		name      string
		parse     func(string, string) (uuid.UUID, error)
		in        string
		want      uuid.UUID
		wantError string
	}{
		{"optional empty", OptionalID, "", uuid.Nil, ""},
		{"optional uuid", OptionalID, id.String(), id, ""},
		{"optional garbage", OptionalID, "x", uuid.Nil, "project_id: must be a UUID"},
		{"required empty", RequiredID, "", uuid.Nil, "project_id: required"},
		{"required uuid", RequiredID, id.String(), id, ""},
		{"required garbage", RequiredID, "x", uuid.Nil, "project_id: must be a UUID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.parse("project_id", tt.in)
			if got != tt.want {
				t.Errorf("id = %v, want %v", got, tt.want)
			}
			switch {
			case tt.wantError == "" && err != nil:
				t.Fatalf("err = %v", err)
			case tt.wantError != "":
				var fe *FieldError
				if !errors.As(err, &fe) || err.Error() != tt.wantError {
					t.Fatalf("err = %v, want FieldError %q", err, tt.wantError)
				}
			}
		})
	}
}
