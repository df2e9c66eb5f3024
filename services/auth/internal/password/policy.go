package password

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// Policy limits. Length is what makes a password strong; composition rules
// (a digit, a symbol, ...) are not imposed, following NIST SP 800-63B.
const (
	// MinChars counts characters (runes), not bytes.
	MinChars = 12
	// MaxBytes bounds the work a login can ask of the server and what a
	// password manager may generate; 256 bytes is beyond any passphrase.
	MaxBytes = 256
)

// Policy violations; their texts are written for the user.
var (
	ErrTooShort = errors.New("must be at least 12 characters long")
	ErrTooLong  = errors.New("must be at most 256 bytes long")
	ErrBlank    = errors.New("must not be only whitespace")
	ErrNotUTF8  = errors.New("must be valid UTF-8 text")
)

// CheckPolicy reports whether password may be chosen as a new password.
// Existing passwords are never re-checked at login: a policy change must not
// lock anyone out.
func CheckPolicy(password string) error {
	switch {
	case len(password) > MaxBytes:
		return ErrTooLong
	case !utf8.ValidString(password):
		return ErrNotUTF8
	case utf8.RuneCountInString(password) < MinChars:
		return ErrTooShort
	case strings.TrimSpace(password) == "":
		return ErrBlank
	}
	return nil
}
