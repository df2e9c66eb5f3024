package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/agenttrace/agenttrace/pkg/service"
	"github.com/agenttrace/agenttrace/pkg/stream"
	"github.com/agenttrace/agenttrace/services/worker/internal/deadletter"
)

func dlq(ctx context.Context, cfg Config, args []string, out service.Output) error {
	if len(args) == 0 {
		return usageError("dlq needs list or replay")
	}
	fs := flag.NewFlagSet("dlq "+args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var run func(*deadletter.Store) error
	switch args[0] {
	case "list":
		limit := fs.Int("limit", 100, "most dead letters to print (0: all)")
		if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 || *limit < 0 {
			return usageError("dlq list takes only --limit N")
		}
		run = func(s *deadletter.Store) error { return list(ctx, out.Stdout, s, *limit) }
	case "replay":
		all := fs.Bool("all", false, "replay every dead letter")
		if err := fs.Parse(args[1:]); err != nil || *all == (fs.NArg() > 0) {
			return usageError("dlq replay takes --all or sequence numbers")
		}
		seqs, err := parseSeqs(fs.Args())
		if err != nil {
			return err
		}
		run = func(s *deadletter.Store) error { return replay(ctx, out.Stdout, s, *all, seqs) }
	default:
		return usageError("unknown dlq command %q", args[0])
	}

	nc, js, err := stream.Connect(ctx, cfg.Stream, "worker-dlq")
	if err != nil {
		return err
	}
	defer nc.Close()
	return run(deadletter.New(js, cfg.Stream))
}

func parseSeqs(args []string) ([]uint64, error) {
	seqs := make([]uint64, 0, len(args))
	for _, a := range args {
		n, err := strconv.ParseUint(a, 10, 64)
		if err != nil || n == 0 {
			return nil, usageError("%q is not a dead-letter sequence number", a)
		}
		seqs = append(seqs, n)
	}
	return seqs, nil
}

func list(ctx context.Context, stdout io.Writer, s *deadletter.Store, limit int) error {
	letters, err := s.List(ctx, limit)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "SEQ\tTIME\tPROJECT\tDELIVERIES\tEVENTS\tMSG_ID\tREASON")
	for _, l := range letters {
		events := strconv.Itoa(l.Events)
		if l.Events < 0 {
			events = "undecodable"
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%d\t%s\t%s\t%s\n", l.Sequence, l.Time.UTC().Format(time.RFC3339), l.Project,
			l.Deliveries, events, orDash(l.MsgID), oneLine(l.Reason))
	}
	return w.Flush()
}

// replay republishes each letter; one failing does not stop the others.
func replay(ctx context.Context, stdout io.Writer, s *deadletter.Store, all bool, seqs []uint64) error {
	if all {
		letters, err := s.List(ctx, 0)
		if err != nil {
			return err
		}
		for _, l := range letters {
			seqs = append(seqs, l.Sequence)
		}
	}
	var errs []error
	replayed := 0
	for _, seq := range seqs {
		if err := s.Replay(ctx, seq); err != nil {
			errs = append(errs, err)
			continue
		}
		replayed++
		fmt.Fprintf(stdout, "replayed %d\n", seq)
	}
	fmt.Fprintf(stdout, "replayed %d of %d dead letters\n", replayed, len(seqs))
	return errors.Join(errs...)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
