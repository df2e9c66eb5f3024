package orgs

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/agenttrace/agenttrace/services/auth/internal/identity"
)

// maxEmailLen is the longest address SMTP can carry (RFC 5321 path limit).
const maxEmailLen = 254

// CleanEmail normalizes an email address (identity.NormalizeEmail) and
// checks it is a bare address: no display name, no angle brackets, no
// control characters.
func CleanEmail(field, email string) (string, error) {
	// Checked before normalizing, which would turn invalid bytes into U+FFFD.
	if !utf8.ValidString(email) {
		return "", invalid(field, "must be valid UTF-8")
	}
	email = identity.NormalizeEmail(email)
	switch {
	case email == "":
		return "", invalid(field, "required")
	case len(email) > maxEmailLen:
		return "", invalid(field, "at most 254 bytes")
	case strings.ContainsFunc(email, unicode.IsControl):
		return "", invalid(field, "must not contain control characters")
	}
	a, err := mail.ParseAddress(email)
	// A display name or quoting would make the parsed address differ from
	// what is stored and later compared with the user's address.
	if err != nil || a.Name != "" || a.Address != email {
		return "", invalid(field, "must be an email address such as name@example.com")
	}
	return email, nil
}
