package tenancy

import "github.com/google/uuid"

// OptionalID parses an id field of a request: empty means "the default"
// (uuid.Nil), which the domain resolves or refuses; anything else must be a
// UUID, or it is a FieldError naming field.
func OptionalID(field, s string) (uuid.UUID, error) {
	if s == "" {
		return uuid.Nil, nil
	}
	return RequiredID(field, s)
}

// RequiredID parses an id field that must be set.
func RequiredID(field, s string) (uuid.UUID, error) {
	if s == "" {
		return uuid.Nil, invalid(field, "required")
	}
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, invalid(field, "must be a UUID")
	}
	return id, nil
}
