package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// Var describes one environment variable a configuration struct reads.
type Var struct {
	// Name is the full variable name, AGENTTRACE_ prefix included.
	Name string `json:"name"`
	// Type is the Go type the value is parsed into (string, int, time.Duration, ...).
	Type string `json:"type"`
	// Default is the value used when the variable is unset: the envDefault
	// tag, or else the value already in the struct. Always empty for secrets.
	Default string `json:"default,omitempty"`
	// Required is true when Load fails without the variable (the `required`
	// or `notEmpty` tag option). Services may still demand more in code.
	Required bool `json:"required"`
	// Secret is true for Secret fields: deployments must take them from a
	// Secret, never from a ConfigMap or a literal.
	Secret bool `json:"secret"`
}

var (
	secretType  = reflect.TypeFor[Secret]()
	errNoStruct = errors.New("config: Describe needs a struct or a pointer to one")
)

// Describe lists the variables Load reads into cfg (a struct or a pointer to
// one), in field order. It follows the same rules as Load: `env:"NAME,opts"`
// names a variable, `envDefault` gives its default, struct fields without an
// env tag are walked with their `envPrefix` added. Deployment tooling uses it
// to check that what it sets is what the service really reads.
func Describe(cfg any) ([]Var, error) {
	v := reflect.ValueOf(cfg)
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v = reflect.New(v.Type().Elem()).Elem()
			continue
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil, fmt.Errorf("%w, got %T", errNoStruct, cfg)
	}
	var vars []Var
	describeStruct(v, Prefix, &vars)
	return vars, nil
}

func describeStruct(v reflect.Value, prefix string, vars *[]Var) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		fv := v.Field(i)
		name, opts, tagged := parseEnvTag(f.Tag.Get("env"))
		if name == "-" || opts["-"] {
			continue
		}
		if !tagged {
			// Untagged fields only matter when they hold more variables,
			// exactly as in env.Parse.
			if s, ok := structValue(fv); ok {
				describeStruct(s, prefix+f.Tag.Get("envPrefix"), vars)
			}
			continue
		}
		secret := f.Type == secretType
		def, hasDefault := f.Tag.Lookup("envDefault")
		if !hasDefault && !fv.IsZero() {
			def = fmt.Sprint(fv.Interface())
		}
		if secret {
			def = ""
		}
		*vars = append(*vars, Var{
			Name:     prefix + name,
			Type:     f.Type.String(),
			Default:  def,
			Required: opts["required"] || opts["notEmpty"],
			Secret:   secret,
		})
	}
}

// structValue returns the struct held by a struct or non-nil struct pointer
// field. Load skips nil pointers, so Describe does too.
func structValue(fv reflect.Value) (reflect.Value, bool) {
	switch {
	case fv.Kind() == reflect.Struct:
		return fv, true
	case fv.Kind() == reflect.Pointer && !fv.IsNil() && fv.Elem().Kind() == reflect.Struct:
		return fv.Elem(), true
	}
	return reflect.Value{}, false
}

// parseEnvTag splits `NAME,opt1,opt2`; tagged is false when there is no name.
func parseEnvTag(tag string) (name string, opts map[string]bool, tagged bool) {
	parts := strings.Split(tag, ",")
	opts = make(map[string]bool, len(parts)-1)
	for _, o := range parts[1:] {
		opts[strings.TrimSpace(o)] = true
	}
	return parts[0], opts, parts[0] != ""
}

// PrintVars writes Describe(cfg) to w as an indented JSON array; it is what
// each service's `config` command prints.
func PrintVars(w io.Writer, cfg any) error {
	vars, err := Describe(cfg)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(vars); err != nil {
		return fmt.Errorf("config: write variables: %w", err)
	}
	return nil
}
