package secretbox

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Hint masks a secret for display, such as "sk-...abcd": it shows at most
// the last 4 characters, fewer for short secrets (a quarter of the length,
// none under 4 characters), and a provider's conventional prefix ("sk-")
// only for secrets of 16 characters or more, where it leaves plenty hidden.
func Hint(secret string) string {
	secret = strings.TrimSpace(secret)
	runes := []rune(secret)
	n := len(runes)
	if n == 0 {
		return ""
	}
	tail := min(4, n/4)
	return prefix(secret, n) + "..." + printable(string(runes[n-tail:]))
}

// prefix is the leading "letters-" of a long secret, at most 4 letters.
func prefix(secret string, n int) string {
	if n < 16 {
		return ""
	}
	head, _, ok := strings.Cut(secret, "-")
	if !ok || head == "" || utf8.RuneCountInString(head) > 4 {
		return ""
	}
	for _, r := range head {
		if r > unicode.MaxASCII || !unicode.IsLetter(r) {
			return ""
		}
	}
	return head + "-"
}

// printable drops control characters, so a hint is always safe to show.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, s)
}
