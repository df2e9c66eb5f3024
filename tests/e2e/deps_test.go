package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/agenttrace/agenttrace/pkg/clickhousedb"
	"github.com/agenttrace/agenttrace/pkg/stream"
)

// The dependency servers `make test` starts (scripts/deps.sh). A test run
// never touches their default databases or streams: it works in its own.
const (
	postgresServer   = "postgres://postgres@127.0.0.1:5432"
	clickhouseServer = "127.0.0.1:9000"
	natsServer       = "nats://127.0.0.1:4222"
	redisServer      = "127.0.0.1:6379"
)

// isolation names the per-run databases and stream namespace.
type isolation struct {
	postgresDB   string
	clickhouseDB string
	natsNS       string
}

func newIsolation(suffix string) isolation {
	return isolation{
		postgresDB:   "agenttrace_e2e_" + suffix,
		clickhouseDB: "agenttrace_e2e_" + suffix,
		natsNS:       "e2e_" + suffix,
	}
}

func (iso isolation) postgresURL() string {
	return postgresServer + "/" + iso.postgresDB + "?sslmode=disable"
}

func (iso isolation) streamConfig() stream.Config {
	return stream.Config{Namespace: iso.natsNS}
}

// checkDependencies fails when a dependency server is not reachable: the
// end-to-end test is meaningless without them and must not pass by skipping.
func checkDependencies(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var errs []error

	pg, err := pgx.Connect(ctx, postgresServer+"/postgres?sslmode=disable")
	if err != nil {
		errs = append(errs, fmt.Errorf("postgresql %s: %w", postgresServer, err))
	} else {
		pg.Close(ctx)
	}

	ch, err := clickhousedb.Open(ctx, clickhousedb.Config{Addr: clickhouseServer, User: "default", DialTimeout: 5 * time.Second, MaxOpenConns: 1, QueryTimeout: 10 * time.Second}, "default")
	if err != nil {
		errs = append(errs, fmt.Errorf("clickhouse: %w", err))
	} else {
		ch.Close()
	}

	nc, err := nats.Connect(natsServer, nats.Timeout(5*time.Second))
	if err != nil {
		errs = append(errs, fmt.Errorf("nats %s: %w", natsServer, err))
	} else {
		js, err := jetstream.New(nc)
		if err == nil {
			_, err = js.AccountInfo(ctx)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("nats jetstream: %w", err))
		}
		nc.Close()
	}
	if err := redisPing(ctx); err != nil {
		errs = append(errs, fmt.Errorf("redis %s: %w", redisServer, err))
	}
	if len(errs) > 0 {
		return fmt.Errorf("dependency servers not reachable (run `make deps`): %w", errors.Join(errs...))
	}
	return nil
}

// drop removes the run's databases and streams. It reports what it could not
// drop but carries on, so one leftover does not hide another.
func (iso isolation) drop(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var errs []error

	if pg, err := pgx.Connect(ctx, postgresServer+"/postgres?sslmode=disable"); err != nil {
		errs = append(errs, err)
	} else {
		ident := pgx.Identifier{iso.postgresDB}.Sanitize()
		if _, err := pg.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
			errs = append(errs, fmt.Errorf("drop postgresql database: %w", err))
		}
		pg.Close(ctx)
	}

	if ch, err := clickhousedb.Open(ctx, clickhousedb.Config{Addr: clickhouseServer, User: "default", DialTimeout: 5 * time.Second, MaxOpenConns: 1, QueryTimeout: 30 * time.Second}, "default"); err != nil {
		errs = append(errs, err)
	} else {
		if err := ch.Exec(ctx, "DROP DATABASE IF EXISTS `"+iso.clickhouseDB+"`"); err != nil {
			errs = append(errs, fmt.Errorf("drop clickhouse database: %w", err))
		}
		ch.Close()
	}

	if nc, err := nats.Connect(natsServer); err != nil {
		errs = append(errs, err)
	} else {
		js, err := jetstream.New(nc)
		if err != nil {
			errs = append(errs, err)
		} else {
			sc := iso.streamConfig()
			for _, name := range []string{sc.EventsStream(), sc.DeadLetterStream()} {
				if err := js.DeleteStream(ctx, name); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
					errs = append(errs, fmt.Errorf("delete stream %s: %w", name, err))
				}
			}
		}
		nc.Close()
	}
	return errors.Join(errs...)
}

// redisPing checks Redis answers PING. The test needs nothing more of Redis
// (the services keep their rate limits there), so it speaks the one line of
// RESP that takes rather than adding a client.
func redisPing(ctx context.Context) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", redisServer)
	if err != nil {
		return err
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}
