package skaffold

import (
	"bytes"
	"debug/elf"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// dockerContext copies into dir the files of the repository that `docker
// build .` sends with .dockerignore applied (by Docker's own matcher) and
// that build/Dockerfile copies for svc: pkg/ and services/<svc>/.
func dockerContext(t *testing.T, dir, svc string) {
	t.Helper()
	f, err := os.Open(repoPath(".dockerignore"))
	if err != nil {
		t.Fatalf("open .dockerignore: %v", err)
	}
	patterns, err := ignorefile.ReadAll(f)
	f.Close()
	if err != nil {
		t.Fatalf("read .dockerignore: %v", err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatalf(".dockerignore: %v", err)
	}
	for _, top := range []string{"pkg", "services/" + svc} {
		err := filepath.WalkDir(repoPath(top), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(repoRoot, path)
			if err != nil {
				return err
			}
			rel = filepath.ToSlash(rel)
			if d.IsDir() {
				return nil
			}
			excluded, err := pm.MatchesOrParentMatches(rel)
			if err != nil || excluded {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			dst := filepath.Join(dir, filepath.FromSlash(rel))
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			return os.WriteFile(dst, data, 0o644)
		})
		if err != nil {
			t.Fatalf("copy %s: %v", top, err)
		}
	}
}

func TestDockerContextExcludesLocalState(t *testing.T) {
	dir := t.TempDir()
	dockerContext(t, dir, "gateway")
	for _, rel := range []string{"pkg/go.mod", "pkg/go.sum", "services/gateway/go.mod", "services/gateway/go.sum", "services/gateway/cmd/gateway/main.go"} {
		if _, err := os.Stat(filepath.Join(dir, rel)); err != nil {
			t.Errorf("build context lacks %s: %v", rel, err)
		}
	}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasSuffix(path, "_test.go") || d.Name() == "testdata" {
			t.Errorf("build context holds %s", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestImageBinaries builds every service the way build/Dockerfile does,
// from a copy of exactly the Docker build context, and checks what the
// binary carries: proof that the image builds without the workspace, with
// CGO off, and with the tz database inside the binary.
func TestImageBinaries(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the five services; skipped with -short")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go toolchain: %v", err)
	}
	b := goBuildOf(t, parseDockerfile(t, "build/Dockerfile"))
	for _, svc := range services(t) {
		t.Run(svc, func(t *testing.T) {
			ctxDir := t.TempDir()
			dockerContext(t, ctxDir, svc)
			modDir := filepath.Join(ctxDir, "services", svc)
			out := filepath.Join(t.TempDir(), "agenttrace")
			// The Dockerfile's ENV plus -mod=readonly: a go.sum that lacks
			// an entry fails here as it would in the image build.
			env := append(os.Environ(), "GOWORK=off", "CGO_ENABLED=0", "GOFLAGS=-mod=readonly")
			run := func(args ...string) string {
				t.Helper()
				cmd := exec.CommandContext(t.Context(), goBin, args...)
				cmd.Dir = modDir
				cmd.Env = env
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				stdout, err := cmd.Output()
				if err != nil {
					t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
				}
				return string(stdout)
			}

			pkg := strings.ReplaceAll(b.pkg, "${SERVICE}", svc)
			args := append([]string{"build"}, b.flags...)
			args = append(args, "-ldflags="+strings.Join(b.ldflags, " "), "-o", out, pkg)
			run(args...)

			settings := map[string]string{}
			// `go version -m` prints one "\tbuild\tkey=value" line per setting.
			for line := range strings.Lines(run("version", "-m", out)) {
				if setting, ok := strings.CutPrefix(strings.TrimSpace(line), "build\t"); ok {
					k, v, _ := strings.Cut(setting, "=")
					settings[k] = v
				}
			}
			want := map[string]string{
				"CGO_ENABLED": "0",
				"-trimpath":   "true",
				"-tags":       "timetzdata",
			}
			for k, v := range want {
				if settings[k] != v {
					t.Errorf("binary build setting %s = %q; want %q (all: %v)", k, settings[k], v, settings)
				}
			}

			// -trimpath keeps -ldflags out of the build info, so check
			// their effect: -s drops the symbol table, -w the DWARF data.
			bin, err := elf.Open(out)
			if err != nil {
				t.Fatalf("read binary: %v", err)
			}
			defer bin.Close()
			for _, sec := range []string{".symtab", ".debug_info"} {
				if bin.Section(sec) != nil {
					t.Errorf("binary has a %s section; -ldflags=\"-s -w\" strips it", sec)
				}
			}

			deps := strings.Fields(run(append([]string{"list", "-deps"}, append(b.flags, pkg)...)...))
			if !slices.Contains(deps, "time/tzdata") {
				t.Error("the binary does not link time/tzdata: time.LoadLocation would depend on the image's files")
			}
		})
	}
}
