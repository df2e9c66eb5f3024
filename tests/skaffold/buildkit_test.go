package skaffold

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// TestDockerfileParsesWithBuildKit runs build/Dockerfile through BuildKit's
// own Dockerfile parser and instruction decoder, with every lint rule
// (experimental ones too) reported as a failure: the offline stand-in for
// `docker build --check`.
func TestDockerfileParsesWithBuildKit(t *testing.T) {
	data, err := os.ReadFile(repoPath("build/Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("parse build/Dockerfile: %v", err)
	}
	for _, w := range res.Warnings {
		t.Errorf("build/Dockerfile line %d: %s", w.Location.Start.Line, w.Short)
	}
	var lints []string
	lint := linter.New(&linter.Config{
		ExperimentalAll: true,
		Warn: func(rule, _, _, msg string, loc []parser.Range) {
			line := 0
			if len(loc) > 0 {
				line = loc[0].Start.Line
			}
			lints = append(lints, fmt.Sprintf("line %d: %s: %s", line, rule, msg))
		},
	})
	stages, metaArgs, err := instructions.Parse(res.AST, lint)
	if err != nil {
		t.Fatalf("decode build/Dockerfile: %v", err)
	}
	for _, l := range lints {
		t.Errorf("build/Dockerfile %s", l)
	}

	if len(metaArgs) != 1 || metaArgs[0].Args[0].Key != "GO_VERSION" {
		t.Errorf("global ARGs %+v; want only GO_VERSION", metaArgs)
	}
	if len(stages) != 2 || stages[0].Name != "build" || stages[1].BaseName != runtimeImage {
		t.Fatalf("stages %+v; want build and the %s runtime", stages, runtimeImage)
	}
	// The builder caches modules and the build cache; these mounts are why
	// `make images` asks for BuildKit.
	var mounts []string
	for _, cmd := range stages[0].Commands {
		if run, ok := cmd.(*instructions.RunCommand); ok {
			// Mount options are evaluated on expansion; these have no
			// variables, so the identity expander is enough.
			if err := run.Expand(func(word string) (string, error) { return word, nil }); err != nil {
				t.Fatalf("RUN %v: %v", run.CmdLine, err)
			}
			for _, m := range instructions.GetMounts(run) {
				mounts = append(mounts, string(m.Type)+":"+m.Target)
			}
		}
	}
	slices.Sort(mounts)
	mounts = slices.Compact(mounts)
	want := []string{"cache:/go/pkg/mod", "cache:/root/.cache/go-build"}
	if !slices.Equal(mounts, want) {
		t.Errorf("builder RUN mounts %v; want %v", mounts, want)
	}
}
