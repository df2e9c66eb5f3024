package app

import (
	"context"
	"fmt"

	"github.com/agenttrace/agenttrace/pkg/secretbox"
	"github.com/agenttrace/agenttrace/pkg/service"
	"github.com/agenttrace/agenttrace/services/auth/internal/audit"
	"github.com/agenttrace/agenttrace/services/auth/internal/pgstore"
	"github.com/agenttrace/agenttrace/services/auth/internal/settings"
)

// runSecrets handles `secrets reencrypt`: after rotating the encryption key
// (new key in AGENTTRACE_ENCRYPTION_KEY, old one in
// AGENTTRACE_ENCRYPTION_PREVIOUS_KEYS), it seals every stored secret again
// with the new key, so the old key can then be dropped.
func runSecrets(ctx context.Context, cfg Config, args []string, out service.Output) error {
	if len(args) != 1 || args[0] != "reencrypt" {
		return fmt.Errorf("usage: secrets reencrypt\n\n%s", usage)
	}
	log := service.NewLogger(out.Stderr, "auth", cfg.LogLevel, cfg.LogFormat)
	box, err := secretbox.New(cfg.Encryption)
	if err != nil {
		return err
	}
	pool, err := pgstore.Open(ctx, cfg.Postgres)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := pgstore.CheckSchema(ctx, pool); err != nil {
		return fmt.Errorf("secrets: %w", err)
	}
	svc := settings.NewService(settings.Config{
		Store: pgstore.NewSettingsStore(pool),
		Box:   box,
		Audit: audit.NewRecorder(audit.Config{Store: pgstore.NewAuditStore(pool)}),
	})
	n, err := svc.ReencryptConnections(ctx)
	if err != nil {
		return fmt.Errorf("secrets reencrypt: %w", err)
	}
	log.InfoContext(ctx, "secrets re-encrypted with the current key", "llm_connections", n)
	fmt.Fprintf(out.Stdout, "%d\n", n)
	return nil
}
