package identityapi_test

import (
	"testing"

	"github.com/google/uuid"
)

// uuidOf parses s, or makes a new id when s is empty.
func uuidOf(t *testing.T, s string) uuid.UUID {
	t.Helper()
	if s == "" {
		id, err := uuid.NewV7()
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	id, err := uuid.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
