package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/agenttrace/agenttrace/pkg/clickhousedb"
	"github.com/agenttrace/agenttrace/pkg/retry"
	"github.com/agenttrace/agenttrace/pkg/service"
	"github.com/agenttrace/agenttrace/services/worker/internal/chmigrate"
)

func migrate(ctx context.Context, cfg Config, args []string, out service.Output) error {
	if len(args) == 0 {
		return usageError("migrate needs up, down or version")
	}
	sub, rest := args[0], args[1:]
	steps := 0
	switch {
	case sub == "down" && len(rest) == 0:
		steps = 1
	case sub == "down" && len(rest) == 1 && rest[0] == "--all":
		steps = 0
	case sub == "down" && len(rest) == 1:
		n, err := strconv.Atoi(rest[0])
		if err != nil || n < 1 {
			return usageError("migrate down takes a positive count or --all, not %q", rest[0])
		}
		steps = n
	case (sub == "up" || sub == "version") && len(rest) == 0:
	default:
		return usageError("unknown migrate command %q", args)
	}

	log := commandLogger(out.Stderr, cfg)
	// Only up waits: in a cluster its Job starts together with ClickHouse;
	// the other subcommands are run by hand against a running server.
	wait := retry.Wait{Store: "ClickHouse", Setting: "AGENTTRACE_MIGRATE_WAIT", Retryable: clickhousedb.Transient, Log: log}
	if sub == "up" {
		wait.For = cfg.MigrateWait
	}
	var m *chmigrate.Migrator
	err := wait.Do(ctx, func(ctx context.Context) error {
		var err error
		m, err = chmigrate.Open(ctx, cfg.ClickHouse)
		return err
	})
	if err != nil {
		return err
	}
	defer m.Close()
	var newer *chmigrate.NewerSchemaError
	switch sub {
	case "up":
		err = m.Up()
		if errors.As(err, &newer) {
			// A rollback to older images runs their Job again: every table
			// they use is still there, so succeed. (Past 000019 their
			// readers need `migrate down` first; see the README.)
			log.WarnContext(ctx, "schema is newer than this binary; left as it is",
				"database", cfg.ClickHouse.Database, "version", newer.Version, "latest", newer.Latest)
			err = nil
		}
	case "down":
		err = m.Down(steps)
	}
	if err != nil {
		return err
	}
	st, err := m.Status()
	if err != nil {
		return err
	}
	return printStatus(out.Stdout, cfg.ClickHouse.Database, st)
}

func printStatus(stdout io.Writer, db string, st chmigrate.Status) error {
	var err error
	switch {
	case !st.Applied:
		_, err = fmt.Fprintf(stdout, "database %s: no migrations applied\n", db)
	case st.Dirty:
		_, err = fmt.Fprintf(stdout, "database %s: version %d (dirty: a migration failed; fix it and force the version)\n", db, st.Version)
	default:
		_, err = fmt.Fprintf(stdout, "database %s: version %d\n", db, st.Version)
	}
	return err
}
