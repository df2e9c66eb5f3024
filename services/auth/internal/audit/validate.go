package audit

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/agenttrace/agenttrace/pkg/apierror"
)

// Sentinel errors, mapped to gRPC codes at the transport edge.
var (
	// ErrInvalidArgument: the event or request is malformed; see FieldError.
	ErrInvalidArgument = apierror.ErrInvalidArgument
	// ErrPermissionDenied: the caller may not do this.
	ErrPermissionDenied = errors.New("permission denied")
	// ErrNotFound: no such object in the caller's organization.
	ErrNotFound = errors.New("not found")
	// ErrUnavailable: a dependency failed in a way the caller should retry.
	ErrUnavailable = errors.New("temporarily unavailable")
)

// FieldError says which request field is wrong and why (the services'
// one type for it, mapped by apierror.Status).
type FieldError = apierror.FieldError

var invalid = apierror.Invalid

// AllowedDetails are the detail keys an event may carry. None of them ever
// holds a secret: a key is added here only after checking that no call site
// can put a password, token, API secret or provider key under it. Hints
// ("sk-...abcd") are fine.
var AllowedDetails = map[string]bool{
	"name":                    true,
	"previous_name":           true,
	"note":                    true,
	"role":                    true,
	"previous_role":           true,
	"email":                   true,
	"user_id":                 true,
	"public_key":              true,
	"scopes":                  true,
	"provider":                true,
	"previous_provider":       true,
	"base_url":                true,
	"previous_base_url":       true,
	"api_key_hint":            true,
	"api_key_changed":         true,
	"retention_days":          true,
	"previous_retention_days": true,
	"trace_id":                true,
	"cutoff":                  true,
	"deleted_rows":            true,
	"projects":                true,
	"expires_at":              true,
	"reason":                  true,
	"recorded_by":             true,
	// Model prices: public list prices and patterns, never secrets.
	"model_name":              true,
	"previous_model_name":     true,
	"match_pattern":           true,
	"previous_match_pattern":  true,
	"prices":                  true,
	"previous_prices":         true,
	"effective_from":          true,
	"previous_effective_from": true,
}

const (
	maxNameLen       = 64
	maxTargetIDLen   = 256 // trace ids may be 256 bytes (ingest validation)
	maxLabelLen      = 320
	maxDetails       = 32
	maxDetailLen     = 1000
	maxUserAgentLen  = 512
	maxClientIPLen   = 64
	maxActorIDLen    = 200
	dottedNameSyntax = `^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`
	wordSyntax       = `^[a-z][a-z0-9_]*$`
)

var (
	dottedName = regexp.MustCompile(dottedNameSyntax)
	word       = regexp.MustCompile(wordSyntax)
)

var actorKinds = map[ActorKind]bool{ActorUser: true, ActorAPIKey: true, ActorService: true, ActorSystem: true}

// Validate checks an event before it is stored: names are well formed,
// detail keys allowed, every text printable and bounded.
func Validate(e Event) error {
	switch {
	case len(e.Action) > maxNameLen || !dottedName.MatchString(e.Action):
		return invalid("action", `must be a dotted lower-case name such as "api_key.create"`)
	case e.TargetKind != "" && (len(e.TargetKind) > maxNameLen || !word.MatchString(e.TargetKind)):
		return invalid("target_kind", `must be a lower-case word such as "api_key"`)
	case !actorKinds[e.Actor.Kind]:
		return invalid("actor_kind", `must be "user", "api_key", "service" or "system"`)
	}
	texts := []struct {
		field, value string
		max          int
	}{
		{"target_id", e.TargetID, maxTargetIDLen},
		{"actor_id", e.Actor.ID, maxActorIDLen},
		{"actor_label", e.Actor.Label, maxLabelLen},
		{"client_ip", e.ClientIP, maxClientIPLen},
		{"user_agent", e.UserAgent, maxUserAgentLen},
	}
	for _, t := range texts {
		if err := checkText(t.field, t.value, t.max, false); err != nil {
			return err
		}
	}
	if len(e.Details) > maxDetails {
		return invalid("details", fmt.Sprintf("at most %d entries", maxDetails))
	}
	for k, v := range e.Details {
		if !AllowedDetails[k] {
			return invalid("details", fmt.Sprintf("key %q is not an allowed detail", k))
		}
		if err := checkText("details."+k, v, maxDetailLen, true); err != nil {
			return err
		}
	}
	return nil
}

// checkText accepts valid UTF-8 of at most max characters without control
// characters (newlines and tabs allowed when multiline).
func checkText(field, s string, max int, multiline bool) error {
	switch {
	case !utf8.ValidString(s):
		return invalid(field, "must be valid UTF-8")
	case utf8.RuneCountInString(s) > max:
		return invalid(field, fmt.Sprintf("at most %d characters", max))
	case strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\t'))
	}):
		return invalid(field, "must not contain control characters")
	}
	return nil
}

// truncate cuts s to at most max runes, at a rune boundary; invalid UTF-8
// is replaced so that the result always validates.
func truncate(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	return string([]rune(s)[:max])
}
