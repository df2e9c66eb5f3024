package tenancy

import (
	"errors"
	"strings"
	"testing"
)

func TestCleanName(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{in: "web", want: "web"},
		{in: "  spaced out  ", want: "spaced out"},
		{in: "ünïcødé 项目", want: "ünïcødé 项目"},
		{in: strings.Repeat("é", maxNameLen), want: strings.Repeat("é", maxNameLen)},
		{in: "", wantErr: true},
		{in: "   ", wantErr: true},
		{in: strings.Repeat("a", maxNameLen+1), wantErr: true},
		{in: "tab\there", wantErr: true},
		{in: "nul\x00", wantErr: true},
		{in: "bad \xff utf8", wantErr: true},
	}
	for _, tt := range tests {
		got, err := cleanName("name", tt.in)
		if tt.wantErr {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != "name" || !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("cleanName(%q) = %q, %v; want a FieldError on name", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("cleanName(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestCleanNote(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{in: "", want: ""},
		{in: " ci key\n", want: "ci key"},
		{in: "multi\nline", want: "multi\nline"},
		{in: strings.Repeat("a", maxNoteLen+1), wantErr: true},
		{in: "nul\x00", wantErr: true},
		{in: "\xff", wantErr: true},
	}
	for _, tt := range tests {
		got, err := cleanNote(tt.in)
		if tt.wantErr != (err != nil) || got != tt.want {
			t.Errorf("cleanNote(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
