package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/agenttrace/agenttrace/pkg/retry"
	"github.com/agenttrace/agenttrace/pkg/service"
	"github.com/agenttrace/agenttrace/services/auth/internal/pgstore"
)

func runMigrate(ctx context.Context, cfg Config, args []string, out service.Output) error {
	if len(args) == 0 {
		return fmt.Errorf("migrate needs a subcommand: up, down [N], version or force VERSION\n\n%s", usage)
	}
	log := service.NewLogger(out.Stderr, "auth", cfg.LogLevel, cfg.LogFormat)
	sub, rest := args[0], args[1:]

	switch sub {
	case "up":
		if len(rest) > 0 {
			return fmt.Errorf("migrate up takes no arguments")
		}
		return migrateUp(ctx, log, cfg)
	case "down":
		if len(rest) > 1 {
			return fmt.Errorf("migrate down takes at most one argument, the number of steps")
		}
	case "force":
		if len(rest) != 1 {
			return fmt.Errorf("migrate force takes exactly one argument, the version")
		}
	case "version":
		if len(rest) > 0 {
			return fmt.Errorf("migrate version takes no arguments")
		}
	default:
		return fmt.Errorf("unknown migrate subcommand %q\n\n%s", sub, usage)
	}

	m, err := pgstore.NewMigrator(cfg.Postgres)
	if err != nil {
		return err
	}
	defer m.Close()

	switch sub {
	case "down":
		steps := 1
		if len(rest) == 1 {
			n, err := strconv.Atoi(rest[0])
			if err != nil || n < 1 {
				return fmt.Errorf("migrate down: steps must be a positive integer, got %q", rest[0])
			}
			steps = n
		}
		if err := m.Down(ctx, steps); err != nil {
			return err
		}
	case "force":
		v, err := strconv.Atoi(rest[0])
		if err != nil || v < 0 {
			return fmt.Errorf("migrate force: version must be a non-negative integer, got %q", rest[0])
		}
		if err := m.Force(v); err != nil {
			return err
		}
	}
	if sub == "version" {
		v, dirty, err := m.Version()
		if err != nil {
			return err
		}
		suffix := ""
		if dirty {
			suffix = " (dirty)"
		}
		_, err = fmt.Fprintf(out.Stdout, "%d%s\n", v, suffix)
		return err
	}
	return logVersion(ctx, log, m, sub)
}

// migrateUp creates the database when it is missing and applies the
// migrations. It waits up to AGENTTRACE_MIGRATE_WAIT for PostgreSQL to
// answer, since in a cluster the migration Job starts with the database.
func migrateUp(ctx context.Context, log *slog.Logger, cfg Config) error {
	var m *pgstore.Migrator
	wait := retry.Wait{
		Store: "PostgreSQL", For: cfg.MigrateWait, Setting: "AGENTTRACE_MIGRATE_WAIT",
		Retryable: pgstore.Transient, Log: log,
	}
	err := wait.Do(ctx, func(ctx context.Context) error {
		created, err := pgstore.EnsureDatabase(ctx, cfg.Postgres)
		if err != nil {
			return err
		}
		if created {
			log.InfoContext(ctx, "database created")
		}
		m, err = pgstore.NewMigrator(cfg.Postgres)
		return err
	})
	if err != nil {
		return err
	}
	defer m.Close()

	var newer *pgstore.NewerSchemaError
	switch err := m.Up(ctx); {
	case errors.As(err, &newer):
		// A rollback to older images runs their Job again: the newer
		// schema still serves them (migrations only add), so succeed.
		log.WarnContext(ctx, "schema is newer than this binary; left as it is",
			"version", newer.Version, "latest", newer.Latest)
		return nil
	case err != nil:
		return err
	}
	return logVersion(ctx, log, m, "up")
}

func logVersion(ctx context.Context, log *slog.Logger, m *pgstore.Migrator, sub string) error {
	v, dirty, err := m.Version()
	if err != nil {
		return err
	}
	log.InfoContext(ctx, "schema migrated", "command", sub, "version", v, "dirty", dirty, "latest", pgstore.LatestVersion())
	return nil
}
