package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/agenttrace/agenttrace/pkg/config"
)

// ErrUsage: the command line is not one the program's Usage lists.
var ErrUsage = errors.New("invalid command line")

// Program is a service binary: its subcommands over one configuration type
// C, read from AGENTTRACE_* variables. Every service starts through one:
//
//	agenttrace-<name>            serve (the default)
//	agenttrace-<name> serve      the same
//	agenttrace-<name> config     print the variables it reads, as JSON
//	agenttrace-<name> help       print Usage
//	agenttrace-<name> <command>  a service-specific command (migrate, ...)
type Program[C any] struct {
	// Usage is the help text, also appended to a usage error.
	Usage string
	// Defaults is the configuration before the environment: what `config`
	// prints, and what Load starts from.
	Defaults func() C
	// Validate, when set, checks a loaded configuration.
	Validate func(*C) error
	// Commands are the subcommands by name; "serve" is the default and
	// takes no arguments.
	Commands map[string]Command[C]
	// Stdout and Stderr default to the process's.
	Stdout, Stderr io.Writer
}

// Command runs one subcommand with the loaded configuration and the words
// after its name. Only the command's result goes to out.Stdout (a key as
// JSON, a version); logs and messages go to out.Stderr.
type Command[C any] func(ctx context.Context, cfg C, args []string, out Output) error

// Output is where a command writes.
type Output struct {
	Stdout, Stderr io.Writer
}

// Main runs the program with the process's arguments; see Main.
func (p Program[C]) Main() { Main(p.Run) }

// Run dispatches args. `config` and `help` need no valid environment; every
// other command loads the configuration first.
func (p Program[C]) Run(ctx context.Context, args []string) error {
	out := p.output()
	cmd, rest := "serve", args
	if len(args) > 0 {
		cmd, rest = args[0], args[1:]
	}
	switch cmd {
	case "help", "-h", "--help":
		_, err := fmt.Fprint(out.Stderr, p.Usage)
		return err
	case "config":
		if len(rest) > 0 {
			return p.usageError("config takes no arguments")
		}
		return config.PrintVars(out.Stdout, p.Defaults())
	}
	run, ok := p.Commands[cmd]
	if !ok {
		return p.usageError("unknown command %q", cmd)
	}
	if cmd == "serve" && len(rest) > 0 {
		return p.usageError("serve takes no arguments")
	}
	cfg, err := p.Load()
	if err != nil {
		return err
	}
	return run(ctx, cfg, rest, out)
}

func (p Program[C]) output() Output {
	out := Output{Stdout: p.Stdout, Stderr: p.Stderr}
	if out.Stdout == nil {
		out.Stdout = os.Stdout
	}
	if out.Stderr == nil {
		out.Stderr = os.Stderr
	}
	return out
}

// Load reads the configuration: Defaults, then the environment, then
// Validate.
func (p Program[C]) Load() (C, error) {
	cfg := p.Defaults()
	if err := config.Load(&cfg); err != nil {
		var zero C
		return zero, err
	}
	if p.Validate != nil {
		if err := p.Validate(&cfg); err != nil {
			var zero C
			return zero, fmt.Errorf("config: %w", err)
		}
	}
	return cfg, nil
}

func (p Program[C]) usageError(format string, args ...any) error {
	return fmt.Errorf("%w: %s\n%s", ErrUsage, fmt.Sprintf(format, args...), p.Usage)
}
