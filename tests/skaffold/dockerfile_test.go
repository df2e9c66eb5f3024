package skaffold

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction with its continuation lines
// joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, ...
	args string
}

// parseDockerfile splits a Dockerfile into instructions, dropping comments
// and the parser directive.
func parseDockerfile(t *testing.T, rel string) []instruction {
	t.Helper()
	data, err := os.ReadFile(repoPath(rel))
	if err != nil {
		t.Fatalf("read %s: %v", rel, err)
	}
	var (
		out  []instruction
		cont strings.Builder
	)
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if rest, ok := strings.CutSuffix(line, `\`); ok {
			cont.WriteString(rest + " ")
			continue
		}
		cont.WriteString(line)
		full := cont.String()
		cont.Reset()
		cmd, args, _ := strings.Cut(full, " ")
		out = append(out, instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)})
	}
	if cont.Len() > 0 {
		t.Fatalf("%s ends in a continuation line", rel)
	}
	return out
}

// shellWords splits a command line on blanks, honouring double quotes (the
// only quoting build/Dockerfile uses).
func shellWords(s string) []string {
	var (
		words []string
		cur   strings.Builder
		inQ   bool
		any   bool
	)
	for _, r := range s {
		switch {
		case r == '"':
			inQ = !inQ
			any = true
		case (r == ' ' || r == '\t') && !inQ:
			if any {
				words = append(words, cur.String())
				cur.Reset()
				any = false
			}
		default:
			cur.WriteRune(r)
			any = true
		}
	}
	if any {
		words = append(words, cur.String())
	}
	return words
}

// dockerGoBuild is the go build invocation of build/Dockerfile.
type dockerGoBuild struct {
	flags   []string // flags other than -ldflags and -o
	ldflags []string
	output  string
	pkg     string // with ${SERVICE} unexpanded
}

// goBuildOf extracts and splits the Dockerfile's single `go build` command.
func goBuildOf(t *testing.T, ins []instruction) dockerGoBuild {
	t.Helper()
	var runs []string
	for _, in := range ins {
		if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
			runs = append(runs, in.args)
		}
	}
	if len(runs) != 1 {
		t.Fatalf("build/Dockerfile has %d RUN instructions with go build; want 1", len(runs))
	}
	_, cmdline, _ := strings.Cut(runs[0], "go build")
	var b dockerGoBuild
	words := shellWords(cmdline)
	for i := 0; i < len(words); i++ {
		w := words[i]
		switch {
		case strings.HasPrefix(w, "-ldflags="):
			b.ldflags = strings.Fields(strings.TrimPrefix(w, "-ldflags="))
		case w == "-o" && i+1 < len(words):
			b.output = words[i+1]
			i++
		case strings.HasPrefix(w, "-"):
			b.flags = append(b.flags, w)
		default:
			if b.pkg != "" {
				t.Fatalf("go build in build/Dockerfile has two packages: %q and %q", b.pkg, w)
			}
			b.pkg = w
		}
	}
	return b
}

func TestDockerfile(t *testing.T) {
	ins := parseDockerfile(t, "build/Dockerfile")

	// The SERVICE guard lists exactly the services there are.
	var guard []string
	re := regexp.MustCompile(`case "\$\{SERVICE\}" in\s+([a-z|]+)\)`)
	for _, in := range ins {
		if m := re.FindStringSubmatch(in.args); in.cmd == "RUN" && m != nil {
			guard = strings.Split(m[1], "|")
		}
	}
	slices.Sort(guard)
	if svcs := services(t); !slices.Equal(guard, svcs) {
		t.Errorf("build/Dockerfile accepts SERVICE in %v; services are %v", guard, svcs)
	}

	var (
		froms, envs, users, entrypoints []string
		args                            = map[string]int{}
		lastStage                       []instruction
	)
	for _, in := range ins {
		switch in.cmd {
		case "FROM":
			froms = append(froms, in.args)
			lastStage = nil
		case "ENV":
			envs = append(envs, strings.Fields(in.args)...)
		case "ARG":
			name, _, _ := strings.Cut(in.args, "=")
			args[name]++
		}
		lastStage = append(lastStage, in)
	}
	for _, in := range lastStage {
		switch in.cmd {
		case "USER":
			users = append(users, in.args)
		case "ENTRYPOINT":
			entrypoints = append(entrypoints, in.args)
		}
	}
	if len(froms) != 2 || !strings.HasPrefix(froms[0], "golang:") || froms[1] != runtimeImage {
		t.Errorf("stages %v; want a golang builder and %s", froms, runtimeImage)
	}
	// SERVICE is declared in both stages (an ARG does not cross stages).
	if args["SERVICE"] != 2 {
		t.Errorf("ARG SERVICE declared %d times; want once per stage", args["SERVICE"])
	}
	for _, e := range wantGoEnv {
		if !slices.Contains(envs, e) {
			t.Errorf("builder ENV %v lacks %s", envs, e)
		}
	}
	if !slices.Equal(users, []string{"65532:65532"}) {
		t.Errorf("runtime USER %v; want 65532:65532 (distroless nonroot)", users)
	}

	b := goBuildOf(t, ins)
	if !slices.Equal(b.flags, wantGoFlags) || !slices.Equal(b.ldflags, wantLdflags) {
		t.Errorf("go build flags %v ldflags %v; want %v %v (the same as .ko.yaml)", b.flags, b.ldflags, wantGoFlags, wantLdflags)
	}
	if b.pkg != "./cmd/${SERVICE}" {
		t.Errorf("go build builds %q; want ./cmd/${SERVICE}", b.pkg)
	}
	want := `["/usr/local/bin/agenttrace"]`
	if !slices.Equal(entrypoints, []string{want}) {
		t.Errorf("ENTRYPOINT %v; want %s", entrypoints, want)
	}
	copied := false
	for _, in := range lastStage {
		if in.cmd == "COPY" && in.args == "--from=build "+b.output+" /usr/local/bin/agenttrace" {
			copied = true
		}
	}
	if !copied {
		t.Errorf("the runtime stage does not copy the built %s to the ENTRYPOINT", b.output)
	}
}
