package settings

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

// ErrPermissionDenied: the operation is not for this kind of caller.
var ErrPermissionDenied = errors.New("permission denied")

// Providers are the LLM providers a connection may name.
var Providers = []string{"openai", "anthropic", "azure-openai", "google", "bedrock", "mistral", "ollama", "custom"}

const (
	maxConnectionNameLen = 100
	maxBaseURLLen        = 2048
	maxAPIKeyLen         = 4096
)

func invalid(field, description string) error {
	return &tenancy.FieldError{Field: field, Description: description}
}

func checkRetention(days int32) error {
	if days < 0 || days > MaxRetentionDays {
		return invalid("retention_days", fmt.Sprintf("must be 0 (keep for ever) or 1..%d", MaxRetentionDays))
	}
	return nil
}

func cleanProvider(p string) (string, error) {
	p = strings.ToLower(strings.TrimSpace(p))
	if !slices.Contains(Providers, p) {
		return "", invalid("provider", "must be one of "+strings.Join(Providers, ", "))
	}
	return p, nil
}

func cleanConnectionName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", invalid("name", "required")
	case !utf8.ValidString(name):
		return "", invalid("name", "must be valid UTF-8")
	case utf8.RuneCountInString(name) > maxConnectionNameLen:
		return "", invalid("name", fmt.Sprintf("at most %d characters", maxConnectionNameLen))
	case strings.ContainsFunc(name, unicode.IsControl):
		return "", invalid("name", "must not contain control characters")
	}
	return name, nil
}

// cleanBaseURL accepts "" (the provider's default) or an absolute http(s)
// URL. Credentials in the URL are refused: the URL is shown and audited,
// so a key belongs in api_key. The URL itself is never echoed in errors.
func cleanBaseURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", nil
	}
	if len(raw) > maxBaseURLLen {
		return "", invalid("base_url", fmt.Sprintf("at most %d characters", maxBaseURLLen))
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || strings.ContainsFunc(raw, unicode.IsControl):
		return "", invalid("base_url", "must be a valid URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return "", invalid("base_url", "must be an http or https URL")
	case u.Host == "" || u.Hostname() == "":
		return "", invalid("base_url", "must name a host")
	case u.User != nil:
		return "", invalid("base_url", "must not carry credentials; put the key in api_key")
	case u.RawQuery != "" || u.Fragment != "":
		return "", invalid("base_url", "must not have a query or fragment")
	}
	return u.String(), nil
}

// cleanAPIKey checks a key without ever quoting it.
func cleanAPIKey(key string) (string, error) {
	key = strings.TrimSpace(key)
	switch {
	case key == "":
		return "", invalid("api_key", "required")
	case len(key) > maxAPIKeyLen:
		return "", invalid("api_key", fmt.Sprintf("at most %d bytes", maxAPIKeyLen))
	case !utf8.ValidString(key):
		return "", invalid("api_key", "must be valid UTF-8")
	case strings.ContainsFunc(key, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }):
		return "", invalid("api_key", "must not contain spaces or control characters")
	}
	return key, nil
}
