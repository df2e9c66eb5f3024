package skaffold

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"
)

// schemaFile is skaffold's published JSON schema for skaffold/v4beta14,
// vendored from GoogleContainerTools/skaffold v2.19.0
// (docs-v2/content/en/schemas/v4beta14.json, Apache-2.0, see
// testdata/SKAFFOLD-LICENSE). Moving skaffold.yaml to a newer apiVersion
// means vendoring that version's schema here.
const (
	schemaFile       = "testdata/skaffold-v4beta14.schema.json"
	schemaAPIVersion = "skaffold/v4beta14"
)

// compileSchema loads the vendored skaffold schema.
func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(schemaFile)
	if err != nil {
		t.Fatalf("open schema: %v", err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("decode schema: %v", err)
	}
	c := jsonschema.NewCompiler()
	const url = "https://skaffold.dev/schemas/v4beta14.json"
	if err := c.AddResource(url, doc); err != nil {
		t.Fatalf("add schema: %v", err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		t.Fatalf("compile schema: %v", err)
	}
	return sch
}

// validateYAML converts a skaffold config to JSON (duplicate keys fail, as
// they do in skaffold) and validates it against sch.
func validateYAML(sch *jsonschema.Schema, data []byte) error {
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		return err
	}
	return sch.Validate(inst)
}

func TestSkaffoldConfigConformsToSchema(t *testing.T) {
	sch := compileSchema(t)
	data, err := os.ReadFile(repoPath("skaffold.yaml"))
	if err != nil {
		t.Fatalf("read skaffold.yaml: %v", err)
	}
	var head struct {
		APIVersion string `json:"apiVersion"`
	}
	readYAML(t, "skaffold.yaml", &head)
	if head.APIVersion != schemaAPIVersion {
		t.Fatalf("skaffold.yaml apiVersion = %q, the vendored schema is %q: vendor the matching schema", head.APIVersion, schemaAPIVersion)
	}

	// Each mutation must be rejected, which shows the schema is applied
	// strictly (unknown fields, wrong types, wrong enums, bad nesting) and
	// not vacuously.
	tests := []struct {
		name    string
		edit    func(string) string
		wantErr bool
	}{
		{name: "committed file", edit: func(s string) string { return s }},
		{
			name:    "unknown top-level field",
			edit:    func(s string) string { return s + "\nbogus: true\n" },
			wantErr: true,
		},
		{
			name: "unknown docker artifact field",
			edit: func(s string) string {
				return strings.Replace(s, "        dockerfile: build/Dockerfile\n", "        dockerfile: build/Dockerfile\n        dockerFile: build/Dockerfile\n", 1)
			},
			wantErr: true,
		},
		{
			name: "port is not a port",
			edit: func(s string) string {
				return strings.Replace(s, "    localPort: 8080\n", "    localPort: eighty\n", 1)
			},
			wantErr: true,
		},
		{
			name: "patch without a path",
			edit: func(s string) string {
				return strings.Replace(s, "        path: /build/local/push\n", "", 1)
			},
			wantErr: true,
		},
		{
			name: "helm release without a name",
			edit: func(s string) string {
				return strings.Replace(s, "      - name: agenttrace\n        chartPath:", "      - chartPath:", 1)
			},
			wantErr: true,
		},
		{
			name: "docker and ko on one artifact",
			edit: func(s string) string {
				return strings.Replace(s, "      docker:\n        dockerfile: build/Dockerfile\n", "      ko: {}\n      docker:\n        dockerfile: build/Dockerfile\n", 1)
			},
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := string(data)
			edited := tt.edit(src)
			if tt.wantErr && edited == src {
				t.Fatal("the mutation did not change skaffold.yaml; update the test to the file's current layout")
			}
			err := validateYAML(sch, []byte(edited))
			if tt.wantErr && err == nil {
				t.Fatal("schema accepted an invalid config")
			}
			if !tt.wantErr && err != nil {
				t.Fatalf("skaffold.yaml does not conform to %s:\n%v", schemaAPIVersion, err)
			}
		})
	}
}
