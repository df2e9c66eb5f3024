package app

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/agenttrace/agenttrace/pkg/config"
	"github.com/agenttrace/agenttrace/pkg/secretbox"
	"github.com/agenttrace/agenttrace/services/auth/internal/pgstore"
	"github.com/agenttrace/agenttrace/services/auth/internal/pgtest"
)

func keyOf(b byte) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32)) }

// TestSecretsReencrypt seals a connection key with an old encryption key,
// rotates, runs `secrets reencrypt` and checks the stored ciphertext now
// opens with the new key alone.
func TestSecretsReencrypt(t *testing.T) {
	u := pgtest.FreshURL(t).Value()
	if _, stderr, err := run(t, u, "migrate", "up"); err != nil {
		t.Fatalf("migrate up: %v\n%s", err, stderr)
	}
	out, _, err := run(t, u, "bootstrap", "--org", "o", "--project", "p")
	if err != nil {
		t.Fatal(err)
	}
	projectID := strings.Split(strings.Split(out, `"project_id":"`)[1], `"`)[0]

	ctx := context.Background()
	oldBox, err := secretbox.New(secretbox.Config{Key: config.Secret(keyOf(1))})
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgstore.Open(ctx, pgstore.Config{URL: config.Secret(u), MaxConns: 2, ConnectTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	id := uuid.New()
	aad := []byte("llm_connection:" + id.String() + ":api_key")
	sealed, err := oldBox.Seal([]byte("sk-test-plaintext-key"), aad)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO llm_connections (id, project_id, provider, name, api_key_ciphertext, api_key_hint)
		VALUES ($1, $2, 'openai', 'main', $3, 'sk-...-key')`, id, projectID, sealed); err != nil {
		t.Fatal(err)
	}

	t.Setenv("AGENTTRACE_ENCRYPTION_KEY", keyOf(2))
	t.Setenv("AGENTTRACE_ENCRYPTION_PREVIOUS_KEYS", keyOf(1))
	stdout, stderr, err := run(t, u, "secrets", "reencrypt")
	if err != nil || stdout != "1\n" {
		t.Fatalf("secrets reencrypt = %q, %v\n%s", stdout, err, stderr)
	}
	if strings.Contains(stderr, "sk-test-plaintext-key") {
		t.Fatal("the plaintext key was logged")
	}
	var stored []byte
	if err := pool.QueryRow(ctx, `SELECT api_key_ciphertext FROM llm_connections WHERE id = $1`, id).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	newOnly, _ := secretbox.New(secretbox.Config{Key: config.Secret(keyOf(2))})
	if got, err := newOnly.Open(stored, aad); err != nil || string(got) != "sk-test-plaintext-key" {
		t.Fatalf("after reencrypt, open with the new key alone = %q, %v", got, err)
	}
	// Nothing left to do the second time.
	if stdout, _, err := run(t, u, "secrets", "reencrypt"); err != nil || stdout != "0\n" {
		t.Fatalf("second reencrypt = %q, %v", stdout, err)
	}
	if _, _, err := run(t, u, "secrets", "rotate"); err == nil {
		t.Fatal("unknown secrets subcommand accepted")
	}
}
