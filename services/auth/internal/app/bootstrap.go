package app

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"

	"github.com/agenttrace/agenttrace/pkg/service"
	"github.com/agenttrace/agenttrace/services/auth/internal/audit"
	"github.com/agenttrace/agenttrace/services/auth/internal/pgstore"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

// BootstrapOutput is the one JSON object bootstrap prints on stdout.
type BootstrapOutput struct {
	OrganizationID string `json:"organization_id"`
	ProjectID      string `json:"project_id"`
	KeyID          string `json:"key_id"`
	PublicKey      string `json:"public_key"`
	SecretKey      string `json:"secret_key"`
}

func runBootstrap(ctx context.Context, cfg Config, args []string, out service.Output) error {
	fs := flag.NewFlagSet("bootstrap", flag.ContinueOnError)
	fs.SetOutput(out.Stderr)
	org := fs.String("org", "", "organization name (created when missing)")
	project := fs.String("project", "", "project name (created in the organization when missing)")
	note := fs.String("note", "bootstrap", "note stored with the new key")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bootstrap: unexpected arguments %q", fs.Args())
	}
	if *org == "" || *project == "" {
		return errors.New("bootstrap: --org and --project are required")
	}
	log := service.NewLogger(out.Stderr, "auth", cfg.LogLevel, cfg.LogFormat)

	pool, err := pgstore.Open(ctx, cfg.Postgres)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := pgstore.CheckSchema(ctx, pool); err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	// No usage recorder or announcer: bootstrap only creates. The key it
	// makes is audited as made by the system (no authenticated caller).
	svc := tenancy.NewService(tenancy.Config{
		Store: pgstore.New(pool),
		Audit: audit.NewRecorder(audit.Config{Store: pgstore.NewAuditStore(pool)}),
	})
	o, p, k, err := svc.Bootstrap(ctx, *org, *project, *note)
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	log.InfoContext(ctx, "bootstrapped api key",
		"organization_id", o.ID, "project_id", p.ID, "key_id", k.Key.ID, "public_key", k.Key.PublicKey)
	return json.NewEncoder(out.Stdout).Encode(BootstrapOutput{
		OrganizationID: o.ID.String(),
		ProjectID:      p.ID.String(),
		KeyID:          k.Key.ID.String(),
		PublicKey:      k.Key.PublicKey,
		SecretKey:      k.Secret,
	})
}
