// Command openapimerge completes the OpenAPI document protoc-gen-openapiv2
// writes: it adds the hand-written routes (tags, paths and definitions of a
// JSON file) that do not come from the protos, replaces the parameters of
// generated operations the gateway reads its own way ("parameters": {path:
// {method: [...]}}, as GET /api/v1/metrics takes one JSON parameter), and
// describes 64-bit integers
// as the gateway writes them (JSON numbers up to 2^53-1, see
// services/gateway/internal/rest/encode.go) rather than as the strings
// proto3 JSON makes them. `make generate` runs it after buf generate:
//
//	go run ./gen/openapi/internal/openapimerge -doc gen/openapi/agenttrace.swagger.json -routes ../proto/openapi-routes.json
//
// The document keeps the generator's key order and formatting (two-space
// indent, HTML-safe escapes), so regeneration reproduces it byte for byte.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "openapimerge:", err)
		os.Exit(1)
	}
}

func run() error {
	docPath := flag.String("doc", "", "the generated document, rewritten in place")
	routesPath := flag.String("routes", "", "the hand-written routes: {\"tags\": [...], \"paths\": {...}, \"definitions\": {...}}")
	flag.Parse()
	if *docPath == "" || *routesPath == "" {
		return errors.New("-doc and -routes are required")
	}
	docJSON, err := os.ReadFile(*docPath)
	if err != nil {
		return err
	}
	routesJSON, err := os.ReadFile(*routesPath)
	if err != nil {
		return err
	}
	out, err := merge(docJSON, routesJSON)
	if err != nil {
		return err
	}
	return os.WriteFile(*docPath, out, 0o644)
}

func merge(docJSON, routesJSON []byte) ([]byte, error) {
	doc, err := parse(docJSON)
	if err != nil {
		return nil, fmt.Errorf("document: %w", err)
	}
	routes, err := parse(routesJSON)
	if err != nil {
		return nil, fmt.Errorf("routes: %w", err)
	}
	d, ok := doc.(*object)
	if !ok {
		return nil, errors.New("document: not an object")
	}
	r, ok := routes.(*object)
	if !ok {
		return nil, errors.New("routes: not an object")
	}
	// Only the generated schemas: the hand-written ones say what they mean
	// (OTLP/JSON, for one, does write 64-bit integers as strings).
	if defs, ok := d.get("definitions").(*object); ok {
		for _, m := range defs.members {
			numberInt64(m.val)
		}
	}
	for _, m := range r.members {
		switch m.key {
		case "//": // a comment
		case "tags":
			tags, ok := m.val.(array)
			if !ok {
				return nil, errors.New("routes: tags is not an array")
			}
			existing, _ := d.get("tags").(array)
			d.set("tags", append(existing, tags...))
		case "paths", "definitions":
			if err := addMembers(d, m.key, m.val); err != nil {
				return nil, err
			}
		case "parameters":
			if err := replaceParameters(d, m.val); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("routes: unexpected key %q", m.key)
		}
	}
	var buf bytes.Buffer
	encode(&buf, doc)
	var indented bytes.Buffer
	if err := json.Indent(&indented, buf.Bytes(), "", "  "); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	json.HTMLEscape(&out, indented.Bytes()) // as the generator's encoding/json writes it
	return out.Bytes(), nil
}

// addMembers adds the members of extra to the document's object key,
// refusing to replace a generated one, and sorts the keys as the generator
// does.
func addMembers(d *object, key string, extra value) error {
	add, ok := extra.(*object)
	if !ok {
		return fmt.Errorf("routes: %s is not an object", key)
	}
	target, _ := d.get(key).(*object)
	if target == nil {
		target = &object{}
		d.set(key, target)
	}
	for _, m := range add.members {
		if target.get(m.key) != nil {
			return fmt.Errorf("routes: %s %q is generated from the protos already", key, m.key)
		}
		target.members = append(target.members, m)
	}
	slices.SortStableFunc(target.members, func(a, b member) int { return strings.Compare(a.key, b.key) })
	return nil
}

// replaceParameters sets the parameters of generated operations:
// overrides is {path: {method: [parameter, ...]}}, and each operation must
// exist (a renamed route must not leave a stale override behind).
func replaceParameters(d *object, overrides value) error {
	paths, ok := overrides.(*object)
	if !ok {
		return errors.New("routes: parameters is not an object")
	}
	docPaths, _ := d.get("paths").(*object)
	for _, p := range paths.members {
		methods, ok := p.val.(*object)
		if !ok {
			return fmt.Errorf("routes: parameters of %q is not an object", p.key)
		}
		for _, m := range methods.members {
			var op *object
			if docPaths != nil {
				if path, ok := docPaths.get(p.key).(*object); ok {
					op, _ = path.get(m.key).(*object)
				}
			}
			if op == nil {
				return fmt.Errorf("routes: parameters for %s %s, which is not generated", m.key, p.key)
			}
			if _, ok := m.val.(array); !ok {
				return fmt.Errorf("routes: parameters of %s %s is not an array", m.key, p.key)
			}
			op.set("parameters", m.val)
		}
	}
	return nil
}

// numberInt64 turns every schema of a 64-bit integer written as a string
// ({"type": "string", "format": "int64"}) into an integer schema, noting
// that values beyond 2^53-1 come as strings.
func numberInt64(v value) {
	switch v := v.(type) {
	case *object:
		if t, f := v.get("type"), v.get("format"); t != nil && f != nil {
			if string(t.(raw)) == `"string"` && (string(f.(raw)) == `"int64"` || string(f.(raw)) == `"uint64"`) {
				v.set("type", raw(`"integer"`))
				const note = "A JSON number; a string when beyond 2^53-1."
				if d, ok := v.get("description").(raw); ok {
					var s string
					if json.Unmarshal(d, &s) == nil {
						v.set("description", quote(s+"\n\n"+note))
					}
				} else {
					v.set("description", quote(note))
				}
			}
		}
		for _, m := range v.members {
			numberInt64(m.val)
		}
	case array:
		for _, e := range v {
			numberInt64(e)
		}
	}
}

func quote(s string) raw {
	b, _ := json.Marshal(s)
	return raw(b)
}

// A value is an *object (members in document order), an array, or a raw
// scalar as it was written.
type value any

type (
	object struct{ members []member }
	member struct {
		key string
		val value
	}
	array []value
	raw   json.RawMessage
)

func (o *object) get(key string) value {
	for _, m := range o.members {
		if m.key == key {
			return m.val
		}
	}
	return nil
}

// set replaces key's value, or adds key at the end.
func (o *object) set(key string, v value) {
	for i := range o.members {
		if o.members[i].key == key {
			o.members[i].val = v
			return
		}
	}
	o.members = append(o.members, member{key, v})
}

func parse(data []byte) (value, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := parseValue(dec)
	if err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("data after the document")
	}
	return v, nil
}

func parseValue(dec *json.Decoder) (value, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		o := &object{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			v, err := parseValue(dec)
			if err != nil {
				return nil, err
			}
			o.members = append(o.members, member{k.(string), v})
		}
		_, err := dec.Token() // '}'
		return o, err
	case json.Delim('['):
		a := array{}
		for dec.More() {
			v, err := parseValue(dec)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		_, err := dec.Token() // ']'
		return a, err
	}
	b, err := json.Marshal(tok) // a string, json.Number, bool or nil
	return raw(b), err
}

func encode(buf *bytes.Buffer, v value) {
	switch v := v.(type) {
	case *object:
		buf.WriteByte('{')
		for i, m := range v.members {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.Write(quote(m.key))
			buf.WriteByte(':')
			encode(buf, m.val)
		}
		buf.WriteByte('}')
	case array:
		buf.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				buf.WriteByte(',')
			}
			encode(buf, e)
		}
		buf.WriteByte(']')
	case raw:
		buf.Write(v)
	}
}
