package skaffold

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"sigs.k8s.io/yaml"
)

// repoRoot is the repository root as seen from this module's directory.
const repoRoot = "../.."

// repoPath joins a slash-separated repository path onto the repository root.
func repoPath(rel string) string {
	return filepath.Join(repoRoot, filepath.FromSlash(rel))
}

// services lists the directories of services/ that hold a Go module with a
// main package at cmd/<name>: the set every image definition must cover.
func services(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(repoPath("services"))
	if err != nil {
		t.Fatalf("read services: %v", err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if _, err := os.Stat(repoPath("services/" + e.Name() + "/go.mod")); err != nil {
			continue
		}
		if _, err := os.Stat(repoPath("services/" + e.Name() + "/cmd/" + e.Name() + "/main.go")); err != nil {
			t.Fatalf("service %s has a go.mod but no cmd/%s/main.go", e.Name(), e.Name())
		}
		names = append(names, e.Name())
	}
	if len(names) == 0 {
		t.Fatal("no services found under services/")
	}
	slices.Sort(names)
	return names
}

// readYAML decodes a repository YAML file into out, which may describe only
// the part of the document a test asserts on; duplicate keys fail.
func readYAML(t *testing.T, rel string, out any) {
	t.Helper()
	data, err := os.ReadFile(repoPath(rel))
	if err != nil {
		t.Fatalf("read %s: %v", rel, err)
	}
	data, err = yaml.YAMLToJSONStrict(data)
	if err != nil {
		t.Fatalf("decode %s: %v", rel, err)
	}
	if err := yaml.Unmarshal(data, out); err != nil {
		t.Fatalf("decode %s: %v", rel, err)
	}
}

// readYAMLStrict decodes a repository YAML file into out, failing on
// duplicate keys and on fields out does not have.
func readYAMLStrict(t *testing.T, rel string, out any) {
	t.Helper()
	data, err := os.ReadFile(repoPath(rel))
	if err != nil {
		t.Fatalf("read %s: %v", rel, err)
	}
	if err := yaml.UnmarshalStrict(data, out); err != nil {
		t.Fatalf("decode %s: %v", rel, err)
	}
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
