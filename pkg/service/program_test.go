package service

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/agenttrace/agenttrace/pkg/config"
)

type programConfig struct {
	config.Base
	Size int `env:"PROGRAM_TEST_SIZE" envDefault:"3"`
}

func testProgram(got *[]string) (Program[programConfig], *bytes.Buffer, *bytes.Buffer) {
	var stdout, stderr bytes.Buffer
	record := func(name string) Command[programConfig] {
		return func(_ context.Context, cfg programConfig, args []string, out Output) error {
			*got = append(*got, name+" "+strings.Join(args, " "))
			if out.Stdout != &stdout || out.Stderr != &stderr {
				return errors.New("output streams not passed on")
			}
			if cfg.Size != 3 {
				return errors.New("defaults not applied")
			}
			return nil
		}
	}
	return Program[programConfig]{
		Usage:    "usage: agenttrace-test [serve|config|migrate up]\n",
		Defaults: func() programConfig { return programConfig{Base: config.Base{GRPCAddr: ":1"}} },
		Validate: func(c *programConfig) error {
			if c.Size > 10 {
				return errors.New("size must be at most 10")
			}
			return nil
		},
		Commands: map[string]Command[programConfig]{
			"serve":   record("serve"),
			"migrate": record("migrate"),
		},
		Stdout: &stdout,
		Stderr: &stderr,
	}, &stdout, &stderr
}

func TestProgramDispatch(t *testing.T) {
	var got []string
	p, stdout, stderr := testProgram(&got)
	ctx := context.Background()
	for _, args := range [][]string{nil, {"serve"}, {"migrate", "up"}} {
		if err := p.Run(ctx, args); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	if want := []string{"serve ", "serve ", "migrate up"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("ran %q, want %q", got, want)
	}

	if err := p.Run(ctx, []string{"config"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "AGENTTRACE_PROGRAM_TEST_SIZE") {
		t.Errorf("config printed %s", stdout)
	}
	if err := p.Run(ctx, []string{"help"}); err != nil || !strings.Contains(stderr.String(), "usage: agenttrace-test") {
		t.Errorf("help: %v, %q", err, stderr)
	}

	for _, args := range [][]string{{"bogus"}, {"serve", "now"}, {"config", "x"}} {
		err := p.Run(ctx, args)
		if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "usage: agenttrace-test") {
			t.Errorf("%v: %v, want a usage error with the usage", args, err)
		}
	}
}

func TestProgramConfigErrors(t *testing.T) {
	var got []string
	p, _, _ := testProgram(&got)
	t.Setenv("AGENTTRACE_PROGRAM_TEST_SIZE", "11")
	if err := p.Run(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "size must be at most 10") {
		t.Errorf("invalid config: %v", err)
	}
	t.Setenv("AGENTTRACE_PROGRAM_TEST_SIZE", "many")
	if err := p.Run(context.Background(), nil); err == nil {
		t.Error("unparsable config accepted")
	}
	// config describes the variables without reading them.
	if err := p.Run(context.Background(), []string{"config"}); err != nil {
		t.Errorf("config with a bad environment: %v", err)
	}
	if len(got) != 0 {
		t.Errorf("a command ran with a bad configuration: %v", got)
	}
}
